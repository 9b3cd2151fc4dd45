"""Deposit address derivation and destination patterns (pure)."""

from __future__ import annotations

import hashlib
import re

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.ledger import derivation as d

_B58 = {c: i for i, c in enumerate(d._B58)}


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + _B58[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def test_b58encode_known_vector():
    assert d.b58encode(b"hello world") == "StV1DL6CwTryKyV"
    assert d.b58encode(b"\0\0\x01") == "112"


@given(seed=st.text(min_size=1), owner=st.text(min_size=1))
def test_base58_addresses_are_valid_base58check(seed, owner):
    for coin in ("BTC", "LTC", "DOGE", "XYZ"):
        fmt = d.coin_format(coin)
        address = d.derive_address(seed, coin, owner, fmt)
        raw = b58decode(address)
        assert len(raw) == 25 and raw[0] == fmt.version
        assert hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4] == raw[21:]
        assert d.valid_destination(address, d.destination_pattern(coin))


def test_formats_per_coin():
    ltc = d.derive_address("seed", "LTC", "alice", d.coin_format("LTC"))
    assert ltc[0] == "L"
    assert d.derive_address("seed", "BTC", "alice", d.coin_format("BTC"))[0] == "1"
    eth = d.derive_address("seed", "ETH", "alice", d.coin_format("ETH"))
    assert re.fullmatch(r"0x[0-9a-f]{40}", eth)
    token = d.coin_format("ZRX", token_address="0x" + "1" * 40)
    assert token.kind == "hex"
    assert d.coin_format("SGTK", deposit="memo").kind == "account"


def test_deterministic_and_distinct():
    fmt = d.coin_format("LTC")
    a = d.derive_address("seed", "LTC", "alice", fmt)
    assert a == d.derive_address("seed", "LTC", "alice", fmt)
    assert a != d.derive_address("seed", "LTC", "bob", fmt)
    assert a != d.derive_address("other seed", "LTC", "alice", fmt)
    assert a != d.derive_address("seed", "LTC", "alice", fmt, n=1)
    memo = d.derive_memo("seed", "SGTK", "alice")
    assert re.fullmatch(r"[a-z2-7]{16}", memo) and memo == d.derive_memo("seed", "SGTK", "alice")


def test_destination_patterns():
    ltc = d.destination_pattern("LTC")
    assert d.valid_destination("MVYBriQcasb6zvtGjPfLKbbWcRoKWh4sAf", ltc)
    assert d.valid_destination("LKjpPtgMbcFgbJJYwzfe1ZtR8x4bbs2V3o", ltc)
    assert not d.valid_destination("not an address", ltc)
    assert not d.valid_destination("0OIl" * 9, ltc)
    btc = d.destination_pattern("BTC")
    assert d.valid_destination("2N9JiEUYgRwKAw6FfnUca54VUeaSYSL9qqG", btc)
    assert d.valid_destination("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", btc)
    account = d.destination_pattern("SGTK", deposit="memo")
    assert d.valid_destination("someguy123", account)
    assert not d.valid_destination("Some Guy", account)
    assert d.destination_pattern("LTC", address_pattern="^x$") == "^x$"
    assert d.valid_destination("0x" + "a" * 40, d.destination_pattern("ETH"))
