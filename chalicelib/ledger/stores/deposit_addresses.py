"""The deposit_addresses table: an address (or receiving account + memo) of a coin mapped
back to exactly one owner.

Keys: `key` = "COIN#address" or "COIN#memo#memo" (`address_key`, `memo_key`); a record is
put with `attribute_not_exists(key)` and never changed, so concurrent requests cannot
give one address two owners. Index `by_owner` (hash `owner`, range `coin`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

from chalicelib.ledger import db, store
from chalicelib.ledger.models import DepositAddress as AddressItem
from chalicelib.ledger.stores.memory import MemoryLedger


def address_key(coin: str, address: str) -> str:
    return f"{coin}#{address}"


def memo_key(coin: str, memo: str) -> str:
    return f"{coin}#memo#{memo}"


@dataclass(frozen=True)
class DepositAddress:
    coin: str
    owner: str  # a ledger account, or f"pair:{FROM-TO}:{destination}" for the converter
    address: str | None = None
    account: str | None = None  # memo coins: the exchange's receiving account
    memo: str | None = None
    purpose: str = "wallet"  # wallet | convert
    convert_to: str | None = None
    destination: str | None = None
    created_us: int = 0

    @property
    def key(self) -> str:
        return memo_key(self.coin, self.memo) if self.memo is not None else address_key(self.coin, self.address or "")


_FIELDS = tuple(f.name for f in dataclasses.fields(DepositAddress))


class DepositAddressStore(Protocol):
    def get(self, key: str, consistent: bool = False) -> DepositAddress | None: ...

    def create(self, record: DepositAddress) -> bool:
        """Put the record unless its key exists; False when it does (whoever owns it)."""

    def of_owner(self, owner: str) -> list[DepositAddress]:
        """An owner's records, by coin."""


class DynamoDepositAddresses:
    def get(self, key: str, consistent: bool = False) -> DepositAddress | None:
        if not db.is_key(key):
            return None
        try:
            return _domain(AddressItem.get(key, consistent_read=consistent))
        except AddressItem.DoesNotExist:
            return None

    def create(self, record: DepositAddress) -> bool:
        item = AddressItem(record.key, **dataclasses.asdict(record))
        return store.write_if(lambda: item.save(condition=AddressItem.key.does_not_exist()))

    def of_owner(self, owner: str) -> list[DepositAddress]:
        if not db.is_key(owner):
            return []
        return [_domain(item) for item in AddressItem.by_owner.query(owner)]


def _domain(item: AddressItem) -> DepositAddress:
    return DepositAddress(**{name: getattr(item, name) for name in _FIELDS})


class MemoryDepositAddresses:
    def __init__(self, ledger: MemoryLedger):
        self._ledger = ledger
        self._records: dict[str, DepositAddress] = {}

    def get(self, key: str, consistent: bool = False) -> DepositAddress | None:
        return self._records.get(key)

    def create(self, record: DepositAddress) -> bool:
        with self._ledger.lock:
            if record.key in self._records:
                return False
            self._records[record.key] = record
            return True

    def of_owner(self, owner: str) -> list[DepositAddress]:
        with self._ledger.lock:
            return sorted((r for r in self._records.values() if r.owner == owner), key=lambda r: r.coin)
