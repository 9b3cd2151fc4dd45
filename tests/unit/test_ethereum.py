"""Tests for chalicelib.auth.ethereum: 0x v1 order hashes and eth_sign recovery."""

from __future__ import annotations

import copy

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chalicelib.auth.ethereum import (
    ORDER_ADDRESS_FIELDS,
    ORDER_UINT_FIELDS,
    SECP256K1_N,
    OrderError,
    SignatureError,
    keccak,
    parse_rsv_signature,
    recover_eth_sign,
    signer_matches,
    zeroex_v1_order_hash,
)

NULL_ADDRESS = "0x" + "00" * 20

# ---------------------------------------------------------------------------------------------
# Published 0x v1 vectors. Source: 0xProject/0x-monorepo, test/0x.js_test.ts (0x.js v0.x, the
# v1 protocol) at commit 40a0d345b5fc00d36928387cd558133358624f12:
#   describe('#getOrderHashHex')  -> expectedOrderHash for an all-zero order on a fake exchange;
#   describe('#isValidSignature') -> dataHex / signature / address (0x.js v0 checks eth_sign
#   with the "\x19Ethereum Signed Message:\n32" prefix).
# The same getOrderHashHex vector is in packages/order-utils/test/order_hash_test.ts of the
# monorepo's v1-era order-utils package.
# ---------------------------------------------------------------------------------------------
ZEROX_JS_ORDER = {
    "exchangeContractAddress": "0xb69e673309512a9d726f87304c6984054f87a93b",
    "maker": NULL_ADDRESS,
    "taker": NULL_ADDRESS,
    "makerTokenAddress": NULL_ADDRESS,
    "takerTokenAddress": NULL_ADDRESS,
    "feeRecipient": NULL_ADDRESS,
    "makerTokenAmount": "0",
    "takerTokenAmount": "0",
    "makerFee": "0",
    "takerFee": "0",
    "expirationUnixTimestampSec": "0",
    "salt": "0",
}
ZEROX_JS_ORDER_HASH = "39da987067a3c9e5f1617694f1301326ba8c8b0498ebef5df4863bed394e3c83"

ZEROX_JS_SIG_DATA = bytes.fromhex("6927e990021d23b1eb7b8789f6a6feaf98fe104bb0cf8259421b79f9a34222b0")
ZEROX_JS_SIG_V = 27
ZEROX_JS_SIG_R = bytes.fromhex("61a3ed31b43c8780e905a260a35faefcc527be7516aa11c0256729b5b351bc33")
ZEROX_JS_SIG_S = bytes.fromhex("40349190569279751135161d22529dc25add4f6069af05be04cacbda2ace2254")
ZEROX_JS_SIG_ADDRESS = "0x5409ed021d9299bf6814279a6a1411a7e866a631"

# ---------------------------------------------------------------------------------------------
# /work/shared/specs/relayer-v0.md, POST /v0/auth example (payload).
# ---------------------------------------------------------------------------------------------
AUTH_MESSAGE = b"Sign this message to verify your authority of current address !"
AUTH_ADDRESS = "0x1bbfd4009dde73595b6ff4abac9dd1494438aaae"
AUTH_DATA = "0x1bf59099f1a36e1df4d8afc601951ecfd07a6cc8639bc016eb627b33eeec9198"
AUTH_SIGNATURE = (
    "0x20a17d52961bfff8a2348a143274711ff01c239bf955de5568015d1d3aa500ca"
    "195061f9c969e1e4723d4432be295fae4bbc5ddb32707d3088219a53996b96131c"
)

# relayer-v0.md, POST /v0/order example payload.
SPEC_ORDER = {
    "exchangeContractAddress": "0x12459c951127e0c374ff9105dda097662a027093",
    "maker": "0x9e56625509c2f60af937f23b7b532600390e8c8b",
    "taker": "0xa2b31dacf30a9c50ca473337c01d8a201ae33e32",
    "makerTokenAddress": "0x323b5d4c32345ced77393b3530b1eed0f346429d",
    "takerTokenAddress": "0xef7fff64389b814a946f3e92105513705ca6b990",
    "feeRecipient": "0xb046140686d052fff581f63f8136cce132e857da",
    "makerTokenAmount": "10000000000000000",
    "takerTokenAmount": "20000000000000000",
    "makerFee": "100000000000000",
    "takerFee": "200000000000000",
    "expirationUnixTimestampSec": "42",
    "salt": "67006738228878699843088602623665307406148487219438534730168799356281242528500",
    "ecSignature": {
        "v": 27,
        "r": "0x61a3ed31b43c8780e905a260a35faefcc527be7516aa11c0256729b5b351bc33",
        "s": "0x40349190569279751135161d22529dc25add4f6069af05be04cacbda2ace2254",
    },
}
# Computed by zeroex_v1_order_hash (the method is pinned by the 0x.js vector above).
SPEC_ORDER_HASH = "2aef5fba475e7abb58c773259f63dcad5813a351c54c448f41b95ed338d72c3c"

# A throwaway test key (never funded anywhere).
TEST_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
TEST_ACCOUNT = Account.from_key(TEST_KEY)
TEST_ADDRESS = TEST_ACCOUNT.address.lower()


def _b32(hex_str: str) -> bytes:
    return bytes.fromhex(hex_str.removeprefix("0x"))


def _sign_prefixed(hash32: bytes) -> tuple[int, bytes, bytes]:
    signed = TEST_ACCOUNT.sign_message(encode_defunct(primitive=hash32))
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def _sign_raw(hash32: bytes) -> tuple[int, bytes, bytes]:
    signed = TEST_ACCOUNT.unsafe_sign_hash(hash32)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


# --- keccak -----------------------------------------------------------------------------------


def test_keccak_is_ethereum_keccak_not_sha3():
    # keccak256("") is the well-known empty-input Keccak-256 digest (differs from SHA3-256).
    assert keccak(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


def test_keccak_rejects_str():
    with pytest.raises(TypeError):
        keccak("abc")  # type: ignore[arg-type]


# --- order hash -------------------------------------------------------------------------------


def test_order_hash_matches_published_0x_js_vector():
    assert zeroex_v1_order_hash(ZEROX_JS_ORDER) == ZEROX_JS_ORDER_HASH


def test_order_hash_accepts_ints_and_ignores_extra_keys():
    as_ints = {**ZEROX_JS_ORDER, **{f: 0 for f in ORDER_UINT_FIELDS}, "ecSignature": {}, "id": 7}
    assert zeroex_v1_order_hash(as_ints) == ZEROX_JS_ORDER_HASH


def test_order_hash_is_case_insensitive_in_addresses():
    upper = {**SPEC_ORDER, "maker": "0x" + SPEC_ORDER["maker"][2:].upper()}
    assert zeroex_v1_order_hash(upper) == SPEC_ORDER_HASH


def test_spec_order_example_hash():
    assert zeroex_v1_order_hash(SPEC_ORDER) == SPEC_ORDER_HASH
    # int and string expirations hash alike (the spec sends both forms).
    assert zeroex_v1_order_hash({**SPEC_ORDER, "expirationUnixTimestampSec": 42}) == SPEC_ORDER_HASH


@pytest.mark.parametrize("field", ORDER_ADDRESS_FIELDS + ORDER_UINT_FIELDS)
def test_order_hash_requires_every_field(field):
    order = dict(SPEC_ORDER)
    del order[field]
    with pytest.raises(OrderError) as info:
        zeroex_v1_order_hash(order)
    assert info.value.field == field


@pytest.mark.parametrize(
    "value",
    ["", "0x", "0x123", NULL_ADDRESS + "00", NULL_ADDRESS[2:], "0x" + "g" * 40, None, 0, b"\x00" * 20],
)
def test_order_hash_rejects_bad_addresses(value):
    with pytest.raises(OrderError):
        zeroex_v1_order_hash({**SPEC_ORDER, "maker": value})


@pytest.mark.parametrize(
    "value",
    [-1, 2**256, str(2**256), "-1", "+1", " 1", "1 ", "1_000", "0x10", "1e3", "1.0", 1.0, True, None, ""],
)
def test_order_hash_rejects_bad_uints(value):
    with pytest.raises(OrderError):
        zeroex_v1_order_hash({**SPEC_ORDER, "salt": value})


def test_order_hash_accepts_uint256_max():
    zeroex_v1_order_hash({**SPEC_ORDER, "salt": str(2**256 - 1)})


# --- parse_rsv_signature ----------------------------------------------------------------------


def test_parse_rsv_signature_splits_r_s_v():
    v, r, s = parse_rsv_signature(AUTH_SIGNATURE)
    assert v == 28
    assert r.hex() == AUTH_SIGNATURE[2:66]
    assert s.hex() == AUTH_SIGNATURE[66:130]
    assert parse_rsv_signature(AUTH_SIGNATURE[2:].upper()) == (v, r, s)


@pytest.mark.parametrize(
    "value", ["", "0x", AUTH_SIGNATURE[:-2], AUTH_SIGNATURE + "00", AUTH_SIGNATURE[:-1] + "g", None, 5]
)
def test_parse_rsv_signature_rejects_malformed(value):
    with pytest.raises(SignatureError):
        parse_rsv_signature(value)


# --- recovery: published vectors and the spec's examples -------------------------------------


def test_0x_js_signature_vector_recovers_with_prefix():
    args = (ZEROX_JS_SIG_DATA, ZEROX_JS_SIG_V, ZEROX_JS_SIG_R, ZEROX_JS_SIG_S)
    assert recover_eth_sign(*args, prefixed=True) == ZEROX_JS_SIG_ADDRESS
    assert recover_eth_sign(*args, prefixed=False) != ZEROX_JS_SIG_ADDRESS
    assert signer_matches(ZEROX_JS_SIG_ADDRESS, *args, allow_unprefixed=False)
    # 0x.js: "should return false if the signature doesn't pertain..." (v flipped to 28)
    # and "...if the address doesn't pertain..." (validUnrelatedAddress).
    assert not signer_matches(
        ZEROX_JS_SIG_ADDRESS, ZEROX_JS_SIG_DATA, 28, ZEROX_JS_SIG_R, ZEROX_JS_SIG_S, allow_unprefixed=True
    )
    assert not signer_matches("0x8b0292b11a196601ed2ce54b665cafeca0347d42", *args, allow_unprefixed=True)


def test_spec_auth_data_is_keccak_of_the_sign_in_message():
    # web3.sha3(data) in the spec's JS snippet: keccak256 of the UTF-8 message.
    assert "0x" + keccak(AUTH_MESSAGE).hex() == AUTH_DATA


def test_spec_auth_example_is_raw_eth_sign_not_prefixed():
    v, r, s = parse_rsv_signature(AUTH_SIGNATURE)
    data = _b32(AUTH_DATA)
    assert recover_eth_sign(data, v, r, s, prefixed=False) == AUTH_ADDRESS
    assert recover_eth_sign(data, v, r, s, prefixed=True) != AUTH_ADDRESS
    assert signer_matches(AUTH_ADDRESS, data, v, r, s, allow_unprefixed=True)
    assert not signer_matches(AUTH_ADDRESS, data, v, r, s, allow_unprefixed=False)
    # Checksummed / upper-case spelling of the address is the same address.
    assert signer_matches(AUTH_ADDRESS.upper().replace("0X", "0x"), data, v, r, s, allow_unprefixed=True)


def test_spec_order_example_signature_is_not_the_makers():
    sig = SPEC_ORDER["ecSignature"]
    h = _b32(zeroex_v1_order_hash(SPEC_ORDER))
    v, r, s = sig["v"], _b32(sig["r"]), _b32(sig["s"])
    for prefixed in (True, False):
        assert recover_eth_sign(h, v, r, s, prefixed=prefixed) != SPEC_ORDER["maker"]
    assert not signer_matches(SPEC_ORDER["maker"], h, v, r, s, allow_unprefixed=True)
    # It is the 0x.js #isValidSignature fixture: a signature over a different hash.
    assert (v, r, s) == (ZEROX_JS_SIG_V, ZEROX_JS_SIG_R, ZEROX_JS_SIG_S)


# --- recovery: freshly signed orders ---------------------------------------------------------


def test_eth_account_prefixed_order_signature_recovers_maker():
    order = {**SPEC_ORDER, "maker": TEST_ADDRESS}
    h = _b32(zeroex_v1_order_hash(order))
    v, r, s = _sign_prefixed(h)
    assert recover_eth_sign(h, v, r, s, prefixed=True) == TEST_ADDRESS
    assert recover_eth_sign(h, v - 27, r, s, prefixed=True) == TEST_ADDRESS  # v as 0/1
    assert signer_matches(TEST_ADDRESS, h, v, r, s, allow_unprefixed=False)


def test_eth_account_raw_signature_needs_allow_unprefixed():
    h = _b32(zeroex_v1_order_hash({**SPEC_ORDER, "maker": TEST_ADDRESS}))
    v, r, s = _sign_raw(h)
    assert recover_eth_sign(h, v, r, s, prefixed=False) == TEST_ADDRESS
    assert signer_matches(TEST_ADDRESS, h, v, r, s, allow_unprefixed=True)
    assert not signer_matches(TEST_ADDRESS, h, v, r, s, allow_unprefixed=False)


def test_high_s_twin_is_accepted_like_ecrecover():
    # (v ^ 1, r, n - s) is the malleable twin of a low-s signature; ecrecover accepts it.
    h = keccak(b"twin")
    v, r, s = _sign_prefixed(h)
    s_high = (SECP256K1_N - int.from_bytes(s, "big")).to_bytes(32, "big")
    assert recover_eth_sign(h, 55 - v, r, s_high, prefixed=True) == TEST_ADDRESS


def _non_curve_x() -> int:
    p = 2**256 - 2**32 - 977
    x = 1
    while pow((x**3 + 7) % p, (p - 1) // 2, p) == 1:  # Euler's criterion: QR -> x is on the curve
        x += 1
    return x


@pytest.mark.parametrize(
    ("v", "r", "s"),
    [
        (2, 1, 1),
        (26, 1, 1),
        (29, 1, 1),
        (34, 1, 1),  # 0x.js "malformed v"
        (True, 1, 1),
        (27, 0, 1),
        (27, 1, 0),
        (27, SECP256K1_N, 1),
        (27, 1, SECP256K1_N),
        (27, 2**256 - 1, 1),
        (27, _non_curve_x(), 1),
    ],
)
def test_recover_rejects_what_ecrecover_rejects(v, r, s):
    with pytest.raises(SignatureError):
        recover_eth_sign(b"\x01" * 32, v, r.to_bytes(32, "big"), s.to_bytes(32, "big"), prefixed=True)
    assert not signer_matches(
        TEST_ADDRESS, b"\x01" * 32, v, r.to_bytes(32, "big"), s.to_bytes(32, "big"), allow_unprefixed=True
    )


@pytest.mark.parametrize(
    ("hash32", "r", "s"),
    [
        (b"\x01" * 31, b"\x01" * 32, b"\x01" * 32),
        (b"\x01" * 32, b"\x01" * 31, b"\x01" * 32),
        (b"\x01" * 32, b"\x01" * 32, b"\x01" * 33),
        ("00" * 32, b"\x01" * 32, b"\x01" * 32),
    ],
)
def test_recover_rejects_wrong_lengths(hash32, r, s):
    with pytest.raises(SignatureError):
        recover_eth_sign(hash32, 27, r, s, prefixed=False)


def test_signer_matches_rejects_non_address():
    h = keccak(b"x")
    v, r, s = _sign_prefixed(h)
    assert not signer_matches("not an address", h, v, r, s, allow_unprefixed=True)
    assert not signer_matches(TEST_ADDRESS[2:], h, v, r, s, allow_unprefixed=True)


# --- hypothesis: any one-byte change breaks the match ----------------------------------------

_addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
_uints = st.integers(min_value=0, max_value=2**256 - 1)
_orders = st.fixed_dictionaries(
    {
        **{f: _addresses for f in ORDER_ADDRESS_FIELDS if f != "maker"},
        **{f: _uints.map(str) for f in ORDER_UINT_FIELDS},
    }
).map(lambda o: {**o, "maker": TEST_ADDRESS})


def _flip_order_byte(order: dict, field: str, index: int, mask: int) -> dict:
    changed = copy.deepcopy(order)
    if field in ORDER_ADDRESS_FIELDS:
        raw = bytearray(bytes.fromhex(order[field][2:]))
        raw[index % 20] ^= mask
        changed[field] = "0x" + raw.hex()
    else:
        raw = bytearray(int(order[field]).to_bytes(32, "big"))
        raw[index % 32] ^= mask
        changed[field] = str(int.from_bytes(raw, "big"))
    return changed


_slow = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_slow
@given(
    order=_orders,
    field=st.sampled_from(ORDER_ADDRESS_FIELDS + ORDER_UINT_FIELDS),
    index=st.integers(min_value=0, max_value=31),
    mask=st.integers(min_value=1, max_value=255),
)
def test_one_byte_change_in_order_breaks_signature(order, field, index, mask):
    h = _b32(zeroex_v1_order_hash(order))
    v, r, s = _sign_prefixed(h)
    assert signer_matches(TEST_ADDRESS, h, v, r, s, allow_unprefixed=False)

    changed = _flip_order_byte(order, field, index, mask)
    h2 = _b32(zeroex_v1_order_hash(changed))
    assert h2 != h
    # Neither the (possibly changed) maker nor the real signer matches the changed order.
    assert not signer_matches(changed["maker"], h2, v, r, s, allow_unprefixed=True)
    assert not signer_matches(TEST_ADDRESS, h2, v, r, s, allow_unprefixed=True)


@_slow
@given(
    message=st.binary(min_size=1, max_size=64),
    part=st.sampled_from(["v", "r", "s"]),
    index=st.integers(min_value=0, max_value=31),
    mask=st.integers(min_value=1, max_value=255),
)
def test_one_byte_change_in_signature_breaks_match(message, part, index, mask):
    h = keccak(message)
    v, r, s = _sign_prefixed(h)
    if part == "v":
        # 0/1 and 27/28 are two spellings of the same recovery id; a change between
        # spellings is not a change of signature, so it is excluded here.
        assume(not ({v, v ^ mask} <= {0, 27} or {v, v ^ mask} <= {1, 28}))
        v ^= mask
    elif part == "r":
        r = bytes(b ^ mask if i == index else b for i, b in enumerate(r))
    else:
        s = bytes(b ^ mask if i == index else b for i, b in enumerate(s))
    assert not signer_matches(TEST_ADDRESS, h, v, r, s, allow_unprefixed=True)
