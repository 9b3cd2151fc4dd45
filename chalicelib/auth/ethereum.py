"""Ethereum primitives for the relayer v0 dialect: 0x v1 order hashes and eth_sign recovery.

Pure functions, no I/O. Heavy libraries (eth-hash's backend, eth-keys) are imported on first
use so that importing this module stays cheap for Lambda cold starts.

- ``zeroex_v1_order_hash``: keccak256 over the tightly packed (``abi.encodePacked``) order
  fields, in the order of the 0x v1 Exchange contract's ``getOrderHash``.
- ``recover_eth_sign``: the address behind an ``eth_sign`` signature over a 32-byte hash,
  either with the ``"\\x19Ethereum Signed Message:\\n32"`` prefix (what wallets do today) or
  over the raw hash (legacy clients; the relayer spec's own ``/v0/auth`` example is one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "ORDER_ADDRESS_FIELDS",
    "ORDER_UINT_FIELDS",
    "OrderError",
    "SignatureError",
    "keccak",
    "parse_rsv_signature",
    "recover_eth_sign",
    "signer_matches",
    "zeroex_v1_order_hash",
]

# secp256k1 group order: ecrecover accepts 1 <= r, s < N (high s included).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
UINT256_LIMIT = 1 << 256
ETH_SIGN_PREFIX_32 = b"\x19Ethereum Signed Message:\n32"

# Field order of the 0x v1 Exchange contract's getOrderHash (addresses first, then uint256s).
ORDER_ADDRESS_FIELDS: tuple[str, ...] = (
    "exchangeContractAddress",
    "maker",
    "taker",
    "makerTokenAddress",
    "takerTokenAddress",
    "feeRecipient",
)
ORDER_UINT_FIELDS: tuple[str, ...] = (
    "makerTokenAmount",
    "takerTokenAmount",
    "makerFee",
    "takerFee",
    "expirationUnixTimestampSec",
    "salt",
)

_ADDRESS_RE = re.compile(r"0[xX][0-9a-fA-F]{40}")
_DECIMAL_RE = re.compile(r"[0-9]{1,78}")
_SIG_RE = re.compile(r"(?:0[xX])?([0-9a-fA-F]{130})")


class SignatureError(ValueError):
    """A signature is malformed or cannot be recovered (what ecrecover would reject)."""


class OrderError(ValueError):
    """An order dict cannot be hashed: a field is missing or out of its type's range."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


_keccak_impl: Callable[[bytes], bytes] | None = None


def keccak(data: bytes) -> bytes:
    """Keccak-256 (Ethereum's, not NIST SHA3-256) of ``data``: 32 bytes."""
    global _keccak_impl
    if _keccak_impl is None:
        # eth_hash pulls in importlib.metadata (~40 ms); defer it to the first hash.
        from eth_hash.auto import keccak as impl

        _keccak_impl = impl
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("keccak() takes bytes")
    return _keccak_impl(bytes(data))


def _address_bytes(field: str, value: Any) -> bytes:
    if not isinstance(value, str) or not _ADDRESS_RE.fullmatch(value):
        raise OrderError(field, "expected a 0x-prefixed 20-byte hex address")
    return bytes.fromhex(value[2:])


def _uint256_bytes(field: str, value: Any) -> bytes:
    if isinstance(value, bool):
        raise OrderError(field, "expected a non-negative integer, got a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DECIMAL_RE.fullmatch(value):
        number = int(value, 10)
    else:
        raise OrderError(field, "expected a non-negative integer or its decimal string")
    if not 0 <= number < UINT256_LIMIT:
        raise OrderError(field, "out of uint256 range")
    return number.to_bytes(32, "big")


def zeroex_v1_order_hash(order: Mapping[str, Any]) -> str:
    """0x v1 order hash: lower-case hex, no ``0x``.

    ``order`` uses the 0x v1 JSON field names; amounts, fees, expiration and salt may be
    decimal strings or ints. Other keys (``ecSignature``, relayer extras) are ignored.
    Raises ``OrderError`` naming the first bad field.
    """
    packed = bytearray()
    for field in ORDER_ADDRESS_FIELDS:
        if field not in order:
            raise OrderError(field, "required")
        packed += _address_bytes(field, order[field])
    for field in ORDER_UINT_FIELDS:
        if field not in order:
            raise OrderError(field, "required")
        packed += _uint256_bytes(field, order[field])
    return keccak(bytes(packed)).hex()


def parse_rsv_signature(sig_hex: str) -> tuple[int, bytes, bytes]:
    """Split a 65-byte ``0x`` r||s||v hex signature (as sent to /v0/auth) into ``(v, r, s)``.

    v is returned as sent (27/28, or 0/1); ``recover_eth_sign`` checks it.
    """
    if not isinstance(sig_hex, str):
        raise SignatureError("signature must be a hex string")
    match = _SIG_RE.fullmatch(sig_hex)
    if match is None:
        raise SignatureError("signature must be 65 bytes of hex (r||s||v)")
    raw = bytes.fromhex(match.group(1))
    return raw[64], raw[:32], raw[32:64]


def _scalar(name: str, value: bytes) -> int:
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise SignatureError(f"{name} must be 32 bytes")
    number = int.from_bytes(value, "big")
    if not 1 <= number < SECP256K1_N:
        raise SignatureError(f"{name} out of range")
    return number


def recover_eth_sign(hash32: bytes, v: int, r: bytes, s: bytes, prefixed: bool) -> str:
    """Address (lower-case, ``0x``) whose key made the eth_sign signature (v, r, s) over ``hash32``.

    ``prefixed=True`` recovers over keccak("\\x19Ethereum Signed Message:\\n32" || hash32);
    ``prefixed=False`` over the raw 32-byte hash. v may be 27/28 or 0/1. Accepts what the
    ecrecover precompile accepts (1 <= r, s < n, high s allowed); raises ``SignatureError``
    otherwise or when no public key can be recovered.
    """
    if not isinstance(hash32, (bytes, bytearray)) or len(hash32) != 32:
        raise SignatureError("hash must be 32 bytes")
    if isinstance(v, bool) or not isinstance(v, int) or v not in (0, 1, 27, 28):
        raise SignatureError("v must be 27, 28, 0 or 1")
    r_int = _scalar("r", r)
    s_int = _scalar("s", s)
    digest = keccak(ETH_SIGN_PREFIX_32 + bytes(hash32)) if prefixed else bytes(hash32)

    from eth_keys.datatypes import Signature
    from eth_keys.exceptions import BadSignature, ValidationError

    try:
        public_key = Signature(vrs=(v % 27, r_int, s_int)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValidationError) as exc:
        raise SignatureError(f"invalid signature: {exc}") from exc
    return "0x" + keccak(public_key.to_bytes())[-20:].hex()


def signer_matches(
    address: str, hash32: bytes, v: int, r: bytes, s: bytes, *, allow_unprefixed: bool
) -> bool:
    """True iff (v, r, s) is ``address``'s eth_sign signature over ``hash32``.

    Tries the prefixed form first, then (only if ``allow_unprefixed``) the raw hash.
    A malformed or unrecoverable signature matches nobody: returns False.
    """
    if not isinstance(address, str) or not _ADDRESS_RE.fullmatch(address):
        return False
    wanted = address.lower()
    modes = (True, False) if allow_unprefixed else (True,)
    for prefixed in modes:
        try:
            if recover_eth_sign(hash32, v, r, s, prefixed) == wanted:
                return True
        except SignatureError:
            continue
    return False
