"""Deposit addresses and memos derived from a secret seed, and destination checks. Pure.

An address is `HMAC-SHA256(seed, f"{coin}\\n{owner}\\n{n}")` encoded in the coin's format:

- base58check (Bitcoin-style P2PKH): version byte + the first 20 bytes of the HMAC +
  4 bytes of double SHA-256 checksum, in base58 (BTC version 0x00 -> "1...", LTC 0x30 ->
  "L...", DOGE 0x1e -> "D...", DASH 0x4c -> "X..."; any other address coin uses 0x00);
- hex (Ethereum-style, for ETH/ETC and every asset with a token contract): "0x" + the
  first 20 bytes of the HMAC in lower-case hex.

A memo (memo-based coins) is the first 10 bytes of the HMAC in lower-case base32
(16 characters). `n` is 0 unless an address was taken by someone else (a hash collision,
never seen in practice): then the next `n` is tried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

BASE58_VERSIONS = {"BTC": 0x00, "LTC": 0x30, "DOGE": 0x1E, "DASH": 0x4C}
HEX_COINS = {"ETH", "ETC", "WETH"}

# Default destination patterns; an asset's own `address_pattern` replaces them.
_B58_CHARS = "[1-9A-HJ-NP-Za-km-z]"
_BECH32 = "[02-9ac-hj-np-z]"
DEFAULT_PATTERNS = {
    "BTC": rf"^[123mn]{_B58_CHARS}{{25,34}}$|^(bc1|tb1|bcrt1){_BECH32}{{8,87}}$",
    "LTC": rf"^[LM3mnQ2]{_B58_CHARS}{{25,34}}$|^(ltc1|tltc1){_BECH32}{{8,87}}$",
    "DOGE": rf"^[DA9n2]{_B58_CHARS}{{25,34}}$",
    "DASH": rf"^[X7y8]{_B58_CHARS}{{25,34}}$",
}
HEX_PATTERN = r"^0x[0-9a-fA-F]{40}$"
ACCOUNT_PATTERN = r"^[a-z][a-z0-9.-]{2,15}$"  # Steem/Hive-style account names (memo-based coins)
GENERIC_PATTERN = r"^[A-Za-z0-9]{20,100}$"  # any other address-based coin


@dataclass(frozen=True)
class CoinFormat:
    """What a coin's addresses look like: `kind` is base58 | hex | account."""

    kind: str
    version: int = 0


def coin_format(coin: str, deposit: str = "address", token_address: str | None = None) -> CoinFormat:
    if deposit == "memo":
        return CoinFormat("account")
    if coin in HEX_COINS or token_address:
        return CoinFormat("hex")
    return CoinFormat("base58", BASE58_VERSIONS.get(coin, 0x00))


def destination_pattern(coin: str, deposit: str = "address", token_address: str | None = None,
                        address_pattern: str | None = None) -> str:
    if address_pattern:
        return address_pattern
    kind = coin_format(coin, deposit, token_address).kind
    if kind == "account":
        return ACCOUNT_PATTERN
    if kind == "hex":
        return HEX_PATTERN
    return DEFAULT_PATTERNS.get(coin, GENERIC_PATTERN)


def valid_destination(destination: str, pattern: str) -> bool:
    return bool(destination) and re.search(pattern, destination) is not None


def _digest(seed: str, coin: str, owner: str, n: int) -> bytes:
    return hmac.new(seed.encode(), f"{coin}\n{owner}\n{n}".encode(), hashlib.sha256).digest()


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, rest = divmod(number, 58)
        text = _B58[rest] + text
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + text


def b58check(version: int, payload: bytes) -> str:
    body = bytes([version]) + payload
    checksum = hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4]
    return b58encode(body + checksum)


def derive_address(seed: str, coin: str, owner: str, fmt: CoinFormat, n: int = 0) -> str:
    digest = _digest(seed, coin, owner, n)
    if fmt.kind == "hex":
        return "0x" + digest[:20].hex()
    if fmt.kind == "base58":
        return b58check(fmt.version, digest[:20])
    raise ValueError(f"{coin} is addressed by account + memo, not by address")


def derive_memo(seed: str, coin: str, owner: str, n: int = 0) -> str:
    return base64.b32encode(_digest(seed, coin, owner, n)[:10]).decode().lower()
