"""Relayer v0 session tokens: HS256 JWTs with ``iss`` = address, ``nbf``, ``exp``.

The claims mirror the relayer spec's example token exactly::

    {"alg":"HS256","typ":"JWT"} . {"exp":1536564876,"iss":"0x1bbf...aaae","nbf":1535960076}

Time is always injected (``now``, Unix seconds); nothing here reads the clock. PyJWT
checks the signature (HS256 only); ``exp``/``nbf`` are checked here against ``now``.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "ALGORITHM",
    "DEFAULT_LIFETIME",
    "MIN_SECRET_BYTES",
    "SessionError",
    "issue_token",
    "token_from_header",
    "verify_token",
    "verify_token_any",
]

ALGORITHM = "HS256"
DEFAULT_LIFETIME = 7 * 24 * 3600
# RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES = 32

_LOWER_ADDRESS_RE = re.compile(r"0x[0-9a-f]{40}")
_ADDRESS_RE = re.compile(r"0[xX][0-9a-fA-F]{40}")
_REQUIRED_CLAIMS = ("exp", "iss", "nbf")


class SessionError(Exception):
    """The token is not a valid, current session token."""


def _secret_bytes(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if not isinstance(key, bytes) or len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"session secret must be at least {MIN_SECRET_BYTES} bytes")
    return key


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def issue_token(address: str, secret: str | bytes, now: int, lifetime: int = DEFAULT_LIFETIME) -> str:
    """A token for ``address`` valid from ``now`` (inclusive) to ``now + lifetime`` (exclusive)."""
    import jwt

    if not isinstance(address, str) or not _ADDRESS_RE.fullmatch(address):
        raise ValueError("address must be a 0x-prefixed 20-byte hex address")
    if not _is_int(now) or not _is_int(lifetime) or lifetime <= 0:
        raise ValueError("now and lifetime must be integers, lifetime > 0")
    # Key order exp, iss, nbf: same bytes as the spec's example payload.
    claims = {"exp": now + lifetime, "iss": address.lower(), "nbf": now}
    return jwt.encode(claims, _secret_bytes(secret), algorithm=ALGORITHM)


def verify_token(token: str, secret: str | bytes, now: int) -> str:
    """The lower-case address a valid token was issued to; ``SessionError`` otherwise.

    Rejects: any algorithm but HS256 (``none`` included), a bad signature, missing or
    non-integer ``exp``/``nbf``, ``now >= exp`` (expired), ``now < nbf`` (not yet valid),
    and an ``iss`` that is not a lower-case 0x address.
    """
    import jwt

    key = _secret_bytes(secret)
    if not _is_int(now):
        raise ValueError("now must be an integer")
    if not isinstance(token, str) or not token:
        raise SessionError("missing token")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            leeway=0,
            options={
                "verify_signature": True,
                # Time claims are checked below against the injected `now`, not the clock.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "require": list(_REQUIRED_CLAIMS),
            },
        )
    except jwt.PyJWTError as exc:
        raise SessionError(f"invalid token: {exc}") from exc

    exp, nbf, iss = claims["exp"], claims["nbf"], claims["iss"]
    if not _is_int(exp) or not _is_int(nbf):
        raise SessionError("invalid token: exp and nbf must be integers")
    if now >= exp:
        raise SessionError("token expired")
    if now < nbf:
        raise SessionError("token not yet valid")
    if not isinstance(iss, str) or not _LOWER_ADDRESS_RE.fullmatch(iss):
        raise SessionError("invalid token: iss is not an address")
    return iss


def verify_token_any(token: str, secrets: list[str | bytes], now: int) -> str:
    """``verify_token`` against each secret in turn (rotation: the current secret first,
    then the ones still accepted). The error reported is that of the first secret whose
    signature matched (expired, not yet valid...), or of the first secret if none did."""
    import jwt

    errors: list[SessionError] = []
    for secret in secrets:
        try:
            return verify_token(token, secret, now)
        except SessionError as error:
            if not isinstance(error.__cause__, jwt.InvalidSignatureError):
                raise
            errors.append(error)
    if not errors:
        raise ValueError("no session secret")
    raise errors[0]


def token_from_header(value: str | None) -> str | None:
    """The token in an ``Authorization`` value: ``"Bearer <jwt>"`` or the bare ``<jwt>``.

    The scheme is matched case-insensitively. None when the value is absent, empty, or
    uses another scheme.
    """
    if not isinstance(value, str):
        return None
    parts = value.strip().split()
    if len(parts) == 1:
        return None if parts[0].lower() == "bearer" else parts[0]
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    return None
