"""API keys for the CoinBTR dialect: random, shown once, stored as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import re
import secrets

from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.ledger import actions, store
from chalicelib.ledger.clock import Clock
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
    """The key's record, or None for an unknown or revoked key."""
    try:
        record = ApiKey.get(key_hash(key))
    except ApiKey.DoesNotExist:
        return None
    return None if record.revoked_us is not None else record


def keys_of(account: str) -> list[ApiKey]:
    return list(ApiKey.by_account.query(account))


# -- operator changes ------------------------------------------------------------------

KEY_HASH_CHARS = 64


def get_key(hash_: str) -> ApiKey:
    """By the SHA-256 hex of the key (the `id` the admin listing shows)."""
    if not re.fullmatch(f"[0-9a-fA-F]{{{KEY_HASH_CHARS}}}", hash_):
        raise InvalidInput("a key id is the 64 hex characters of its SHA-256", field="key_id")
    try:
        return ApiKey.get(hash_.lower(), consistent_read=True)
    except ApiKey.DoesNotExist:
        raise NotFound(f"no API key {hash_}") from None


def revoke_key(hash_: str, action: actions.Action, clock: Clock) -> ApiKey:
    """The key stops authenticating (at once here; see docs/admin.md for caches)."""
    record = get_key(hash_)
    if record.revoked_us is not None:
        raise Conflict(f"API key {hash_} was revoked before", field="key_id")
    tx = store.Tx()
    tx.update(record, actions=[ApiKey.revoked_us.set(clock.now_us())], condition=ApiKey.revoked_us.does_not_exist(),
              on_fail=Conflict(f"API key {hash_} was revoked meanwhile", field="key_id"))
    actions.commit(tx, "apikey_revoke", record.key_hash, action, clock)
    return get_key(hash_)


def rotate_key(hash_: str, action: actions.Action, clock: Clock) -> tuple[str, ApiKey]:
    """A new key with the same account, scopes and label; the old one is revoked in the
    same transaction, so exactly one of the two works at any moment."""
    old = get_key(hash_)
    if old.revoked_us is not None:
        raise Conflict(f"API key {hash_} is revoked: create a new one", field="key_id")
    key = "lx_" + secrets.token_urlsafe(32)
    now = clock.now_us()
    new = ApiKey(key_hash(key), account=old.account, scopes=list(old.scopes), label=old.label, created_us=now)
    tx = store.Tx()
    tx.put(new, condition=ApiKey.key_hash.does_not_exist())
    tx.update(old, actions=[ApiKey.revoked_us.set(now), ApiKey.replaced_by.set(new.key_hash)],
              condition=ApiKey.revoked_us.does_not_exist(),
              on_fail=Conflict(f"API key {hash_} was revoked meanwhile", field="key_id"))
    actions.commit(tx, "apikey_rotate", old.key_hash, action, clock)
    return key, new
