"""API keys for the CoinBTR dialect: random, shown once, stored as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from chalicelib.errors import InvalidInput
from chalicelib.ledger.models import ApiKey

SCOPES = ("read", "trade", "withdraw")


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(account: str, scopes: list[str], now_us: int, label: str | None = None) -> tuple[str, ApiKey]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(f"scopes must be a non-empty subset of {list(SCOPES)}", field="scopes")
    key = "lx_" + secrets.token_urlsafe(32)
    record = ApiKey(key_hash(key), account=account, scopes=sorted(set(scopes)), label=label, created_us=now_us)
    record.save(condition=ApiKey.key_hash.does_not_exist())
    return key, record


def authenticate(key: str) -> ApiKey | None:
    try:
        return ApiKey.get(key_hash(key))
    except ApiKey.DoesNotExist:
        return None


def keys_of(account: str) -> list[ApiKey]:
    return list(ApiKey.by_account.query(account))
