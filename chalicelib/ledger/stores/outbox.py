"""The outbox table: what the local chain adapter "sent", one item per outgoing transfer.

Keys: `id` (the transfer's idempotency key, e.g. "withdrawal:<id>"), put with
`attribute_not_exists(id)`: a transfer sent twice is recorded once. Index
`all_transfers` (`kind` = "transfer", by `created_us`) lists them newest first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chalicelib.ledger import paging
from chalicelib.ledger.stores.memory import MemoryLedger
from chalicelib.ledger.stores.records import DynamoRecords, Index, MemoryRecords

INDEXES = (Index("all_transfers", "kind", "created_us"),)


@dataclass(frozen=True)
class Transfer:
    id: str
    coin: str
    to_address: str
    quantity: int
    txid: str
    created_us: int
    memo: str | None = None
    kind: str = "transfer"  # the `all_transfers` index's partition


class OutboxStore(Protocol):
    def get(self, transfer_id: str, consistent: bool = True) -> Transfer | None: ...

    def create(self, transfer: Transfer) -> bool:
        """Put the transfer unless its id exists; False when it does."""

    def page(self, limit: int, cursor: str | None, keep: Callable[[Transfer], bool]) -> paging.Page[Transfer]:
        """Newest first, resumable by `cursor`."""


class _Outbox:
    _records: DynamoRecords | MemoryRecords

    def get(self, transfer_id: str, consistent: bool = True) -> Transfer | None:
        return self._records.get(transfer_id, consistent)

    def create(self, transfer: Transfer) -> bool:
        return self._records.create(transfer)

    def page(self, limit: int, cursor: str | None, keep: Callable[[Transfer], bool]) -> paging.Page[Transfer]:
        return self._records.page("all_transfers", "transfer", limit, cursor, keep)


class DynamoOutbox(_Outbox):
    def __init__(self):
        from chalicelib.ledger.models import OutboxTransfer

        self._records = DynamoRecords(OutboxTransfer, Transfer, INDEXES)


class MemoryOutbox(_Outbox):
    def __init__(self, ledger: MemoryLedger):
        self._records = MemoryRecords(ledger, Transfer, "id", INDEXES)
