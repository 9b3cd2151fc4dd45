"""One-time sign-in nonces for the 0x relayer's `/v0/auth` (replay protection).

`issue` stores a random nonce for an address with a short life. The client signs
keccak256(message) exactly as it signs the spec's fixed message, and `/v0/auth` gets
only that hash (`data`), so the nonce is keyed by the hash: `consume` finds it by key
and marks it used with one conditional update (unused, same address, not expired),
so a signature over it signs in once (`stores.nonces()`; expired ones go by TTL).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from chalicelib.ledger import stores
from chalicelib.ledger.stores.nonces import Nonce

LIFETIME = 300  # seconds
MESSAGE_PREFIX = "Sign this message to verify your authority of current address ! nonce: "


@dataclass(frozen=True)
class IssuedNonce:
    nonce: str
    message: str
    data: str  # 0x keccak256(message): what /v0/auth expects as `data`
    expires_at: int


def message_for(nonce: str) -> str:
    return MESSAGE_PREFIX + nonce


def issue(address: str, now: int) -> IssuedNonce:
    from chalicelib.auth.ethereum import keccak

    nonce = secrets.token_hex(16)
    message = message_for(nonce)
    data = keccak(message.encode()).hex()
    expires_at = now + LIFETIME
    if not stores.nonces().create(Nonce(data, address=address.lower(), expires_at=expires_at)):
        raise RuntimeError("a fresh 128-bit nonce collided")  # never expected; refuse rather than reuse
    return IssuedNonce(nonce, message, "0x" + data, expires_at)


def consume(data_hex: str, address: str, now: int) -> bool:
    """Mark the nonce behind `data_hex` used; False if unknown, another address's, expired or used."""
    return stores.nonces().consume(data_hex.lower().removeprefix("0x"), address.lower(), now)
