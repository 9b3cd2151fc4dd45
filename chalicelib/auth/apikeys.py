"""API keys for the CoinBTR dialect: random, shown once, stored as a SHA-256 hash.

A key check is cached per container for `LAMBDEX_APIKEY_CACHE_SECONDS` (default 5 s),
an unknown key too (a made-up key costs one read per second, not one per request). A
key revoked in this container stops working at once; revoked elsewhere (another Lambda
container), it stops working here within that time.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from chalicelib import settings
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.ledger import actions, cache, stores
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.stores.api_keys import ApiKey

SCOPES = ("read", "trade", "withdraw")


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(account: str, scopes: list[str], now_us: int, label: str | None = None,
               public: bool = False) -> tuple[str, ApiKey]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(f"scopes must be a non-empty subset of {list(SCOPES)}", field="scopes")
    key = "lx_" + secrets.token_urlsafe(32)
    record = ApiKey(key_hash(key), account=account, scopes=tuple(sorted(set(scopes))), created_us=now_us,
                    label=label, public=public)
    if not stores.api_keys().create(record):  # 256 random bits: a collision means a broken RNG
        raise RuntimeError("a fresh API key collided with a stored one")
    cache.forget("apikey", record.key_hash)
    cache.forget("privacy", account)
    return key, record


def authenticate(key: str) -> ApiKey | None:
    """The key's record, or None when it is unknown or revoked."""
    hashed = key_hash(key)
    ttl = settings.apikey_cache_seconds()
    record = cache.cached("apikey", hashed, ttl, lambda: stores.api_keys().get(hashed), negative_ttl=ttl)
    return None if record is None or record.revoked else record


def keys_of(account: str) -> list[ApiKey]:
    return stores.api_keys().of_account(account)


# -- operator changes, journaled with who and why ---------------------------------------

def get_key(hashed: str) -> ApiKey:
    """By the SHA-256 hex of the key (the `id` the admin listing shows), revoked or not."""
    if not re.fullmatch("[0-9a-fA-F]{64}", hashed):
        raise InvalidInput("a key id is the 64 hex characters of its SHA-256", field="key_id")
    record = stores.api_keys().get(hashed.lower())
    if record is None:
        raise NotFound(f"no API key {hashed}")
    return record


def operator_revoke(hashed: str, action: actions.Action, clock: Clock) -> ApiKey:
    """An operator revokes a key: 409 if it was revoked before."""
    record = get_key(hashed)
    if record.revoked:
        raise Conflict(f"API key {hashed} was revoked before", field="key_id")
    tx = stores.new_tx()
    stores.api_keys().stage_revoke(tx, record.key_hash, clock.now_us(), None,
                                   Conflict(f"API key {hashed} was revoked meanwhile", field="key_id"))
    actions.commit(tx, "apikey_revoke", record.key_hash, action, clock)
    cache.forget("apikey", record.key_hash)
    return get_key(record.key_hash)


def rotate_key(hashed: str, action: actions.Action, clock: Clock) -> tuple[str, ApiKey]:
    """A new key with the same account, scopes and label; the old one is revoked in the
    same transaction, so exactly one of the two works at any moment."""
    old = get_key(hashed)
    if old.revoked:
        raise Conflict(f"API key {hashed} is revoked: create a new one", field="key_id")
    key = "lx_" + secrets.token_urlsafe(32)
    now = clock.now_us()
    new = ApiKey(key_hash(key), account=old.account, scopes=old.scopes, created_us=now, label=old.label,
                 public=old.public)
    tx = stores.new_tx()
    stores.api_keys().stage_create(tx, new)
    stores.api_keys().stage_revoke(tx, old.key_hash, now, new.key_hash,
                                   Conflict(f"API key {hashed} was revoked meanwhile", field="key_id"))
    actions.commit(tx, "apikey_rotate", old.key_hash, action, clock)
    cache.forget("apikey", old.key_hash)
    cache.forget("apikey", new.key_hash)
    return key, new
