"""The api_keys table: CoinBTR API keys, stored by the SHA-256 of the key (never the key).

Keys: `key_hash`; index `by_account` (hash `account`, range `created_us`) lists an
account's keys. A revoked key keeps its item (`revoked_us` set) so it stays listed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.ledger import db, store
from chalicelib.ledger.models import ApiKey as ApiKeyItem
from chalicelib.ledger.stores.memory import MemoryLedger


@dataclass(frozen=True)
class ApiKey:
    key_hash: str
    account: str
    scopes: tuple[str, ...]
    created_us: int
    label: str | None = None
    revoked_us: int | None = None
    replaced_by: str | None = None  # rotation: the hash of the key that replaced this one
    public: bool = False  # the account opted in: its balances are served by the public routes

    @property
    def revoked(self) -> bool:
        return self.revoked_us is not None


class ApiKeyStore(Protocol):
    def create(self, key: ApiKey) -> bool:
        """Put the key unless its hash exists; False when it does."""

    def get(self, key_hash: str) -> ApiKey | None:
        """By hash, strongly consistent (a revocation is seen at once), revoked ones included."""

    def of_account(self, account: str) -> list[ApiKey]:
        """An account's keys, oldest first, revoked ones included."""

    def stage_create(self, tx: Any, key: ApiKey) -> None:
        """Add to `tx`: put the key unless its hash exists (`store.StaleRead` then)."""

    def stage_revoke(self, tx: Any, key_hash: str, now_us: int, replaced_by: str | None,
                     on_fail: Exception) -> None:
        """Add to `tx`: revoke an existing, not yet revoked key (the commit raises `on_fail`
        otherwise), recording the key that replaced it."""


class DynamoApiKeys:
    def create(self, key: ApiKey) -> bool:
        item = ApiKeyItem(**{**dataclasses.asdict(key), "scopes": list(key.scopes)})
        return store.write_if(lambda: item.save(condition=ApiKeyItem.key_hash.does_not_exist()))

    def get(self, key_hash: str) -> ApiKey | None:
        if not db.is_key(key_hash):
            return None
        try:
            return _domain(ApiKeyItem.get(key_hash, consistent_read=True))
        except ApiKeyItem.DoesNotExist:
            return None

    def of_account(self, account: str) -> list[ApiKey]:
        if not db.is_key(account):
            return []
        return [_domain(item) for item in ApiKeyItem.by_account.query(account)]

    def stage_create(self, tx: store.Tx, key: ApiKey) -> None:
        tx.put(ApiKeyItem(**{**dataclasses.asdict(key), "scopes": list(key.scopes)}),
               condition=ApiKeyItem.key_hash.does_not_exist())

    def stage_revoke(self, tx: store.Tx, key_hash: str, now_us: int, replaced_by: str | None,
                     on_fail: Exception) -> None:
        actions = [ApiKeyItem.revoked_us.set(now_us)]
        if replaced_by is not None:
            actions.append(ApiKeyItem.replaced_by.set(replaced_by))
        tx.update(ApiKeyItem(key_hash), actions=actions,
                  condition=ApiKeyItem.key_hash.exists() & ApiKeyItem.revoked_us.does_not_exist(), on_fail=on_fail)


def _domain(item: ApiKeyItem) -> ApiKey:
    return ApiKey(item.key_hash, item.account, tuple(item.scopes), int(item.created_us), item.label,
                  None if item.revoked_us is None else int(item.revoked_us), item.replaced_by, bool(item.public))


class MemoryApiKeys:
    def __init__(self, ledger: MemoryLedger):
        self._ledger = ledger
        self._keys: dict[str, ApiKey] = {}

    def create(self, key: ApiKey) -> bool:
        with self._ledger.lock:
            if key.key_hash in self._keys:
                return False
            self._keys[key.key_hash] = key
            return True

    def get(self, key_hash: str) -> ApiKey | None:
        return self._keys.get(key_hash)

    def of_account(self, account: str) -> list[ApiKey]:
        with self._ledger.lock:
            return sorted((k for k in self._keys.values() if k.account == account), key=lambda k: k.created_us)

    def stage_create(self, tx, key: ApiKey) -> None:
        def check() -> Exception | None:
            return store.StaleRead(f"API key {key.key_hash} exists") if key.key_hash in self._keys else None

        def apply() -> None:
            self._keys[key.key_hash] = key

        tx.stage(check, apply)

    def stage_revoke(self, tx, key_hash: str, now_us: int, replaced_by: str | None, on_fail: Exception) -> None:
        def check() -> Exception | None:
            key = self._keys.get(key_hash)
            return on_fail if key is None or key.revoked else None

        def apply() -> None:
            self._keys[key_hash] = dataclasses.replace(self._keys[key_hash], revoked_us=now_us,
                                                       replaced_by=replaced_by)

        tx.stage(check, apply)
