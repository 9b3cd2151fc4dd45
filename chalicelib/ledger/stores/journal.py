"""The journal, read side: the entries that explain balance changes, listed by operator.

Entries are written only by a transaction's commit (`store.Tx` / `MemoryTx`), never here.
Index `by_operator` (hash `operator`, range `time_us`; sparse: only operators' changes
carry `operator`) lists one operator's changes, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.ledger import paging
from chalicelib.ledger.stores.memory import MemoryLedger
from chalicelib.ledger.stores.records import DynamoRecords, Index, MemoryRecords

INDEXES = (Index("by_operator", "operator", "time_us"),)


@dataclass(frozen=True)
class Entry:
    id: str  # the operation's idempotency key
    kind: str
    ref: str  # the id of the thing it explains
    time_us: int
    block_index: int = 0
    operator: str | None = None  # present only on an operator's change
    reason: str | None = None


class JournalStore(Protocol):
    def by_operator(self, operator: str, limit: int, cursor: str | None) -> paging.Page[Entry]:
        """One operator's changes, newest first, resumable by `cursor`."""


class DynamoJournal:
    def __init__(self):
        from chalicelib.ledger.models import JournalEntry

        self._records = DynamoRecords(JournalEntry, Entry, INDEXES)

    def by_operator(self, operator: str, limit: int, cursor: str | None) -> paging.Page[Entry]:
        return self._records.page("by_operator", operator, limit, cursor)


class MemoryJournal:
    def __init__(self, ledger: MemoryLedger):
        self._ledger = ledger

    def by_operator(self, operator: str, limit: int, cursor: str | None) -> paging.Page[Entry]:
        records = MemoryRecords(self._ledger, Entry, "id", INDEXES)
        with self._ledger.lock:
            for entry in self._ledger.journal.values():
                records.rows[entry["id"]] = Entry(entry["id"], entry["kind"], entry["ref"], entry["time_us"],
                                                  entry["block_index"], entry.get("operator"), entry.get("reason"))
        return records.page("by_operator", operator, limit, cursor)
