"""The balances table, read side: one item per (address, asset).

Keys: `address` (hash) and `asset` (range); index `by_asset` (hash `asset`, range
`address`) lists an asset's holders. Balances are written only by a transaction
(`store.Tx` / `MemoryTx`) together with their journal entry, never here; `stage_freeze`
adds an operator's freeze to such a transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.ledger import db, store
from chalicelib.ledger.models import Balance as BalanceItem
from chalicelib.ledger.stores.memory import MemoryLedger


@dataclass(frozen=True)
class Balance:
    address: str
    asset: str
    available: int = 0
    locked: int = 0
    frozen: bool = False


class BalanceStore(Protocol):
    def get(self, address: str, asset: str, consistent: bool = False) -> Balance | None:
        """None when the address never held the asset."""

    def of(self, address: str) -> list[Balance]:
        """An address's balances, by asset."""

    def holders(self, asset: str, limit: int, offset: int = 0) -> list[Balance]:
        """Balances of one asset, by address, from the `offset`-th on."""

    def stage_freeze(self, tx: Any, address: str, asset: str, frozen: bool) -> None:
        """Add to `tx`: set `frozen` of an existing balance (`store.StaleRead` if there is none)."""


class DynamoBalances:
    def get(self, address: str, asset: str, consistent: bool = False) -> Balance | None:
        if not (db.is_key(address) and db.is_key(asset)):
            return None
        try:
            return _domain(BalanceItem.get(address, asset, consistent_read=consistent))
        except BalanceItem.DoesNotExist:
            return None

    def of(self, address: str) -> list[Balance]:
        if not db.is_key(address):
            return []
        return [_domain(item) for item in BalanceItem.query(address)]

    def holders(self, asset: str, limit: int, offset: int = 0) -> list[Balance]:
        if not db.is_key(asset) or limit <= 0:
            return []
        rows = BalanceItem.by_asset.query(asset, limit=offset + limit)
        return [_domain(item) for item in rows][offset:offset + limit]


    def stage_freeze(self, tx: store.Tx, address: str, asset: str, frozen: bool) -> None:
        tx.update(BalanceItem(address, asset), actions=[BalanceItem.frozen.set(frozen)],
                  condition=BalanceItem.address.exists())


def _domain(item: BalanceItem) -> Balance:
    return Balance(item.address, item.asset, int(item.available), int(item.locked), bool(item.frozen))


class MemoryBalances:
    def __init__(self, ledger: MemoryLedger):
        self._ledger = ledger

    def _row(self, key: tuple[str, str]) -> Balance:
        row = self._ledger.balances[key]
        return Balance(key[0], key[1], row.available, row.locked, row.frozen)

    def get(self, address: str, asset: str, consistent: bool = False) -> Balance | None:
        with self._ledger.lock:
            return self._row((address, asset)) if (address, asset) in self._ledger.balances else None

    def of(self, address: str) -> list[Balance]:
        with self._ledger.lock:
            return [self._row(k) for k in sorted(self._ledger.balances) if k[0] == address]

    def holders(self, asset: str, limit: int, offset: int = 0) -> list[Balance]:
        if limit <= 0:
            return []
        with self._ledger.lock:
            found = sorted((k for k in self._ledger.balances if k[1] == asset), key=lambda k: k[0])
            return [self._row(k) for k in found[offset:offset + limit]]

    def stage_freeze(self, tx, address: str, asset: str, frozen: bool) -> None:
        def check() -> Exception | None:
            return None if (address, asset) in self._ledger.balances else store.StaleRead(
                f"no balance {address} {asset}")

        def apply() -> None:
            self._ledger.balances[(address, asset)].frozen = frozen

        tx.stage(check, apply)
