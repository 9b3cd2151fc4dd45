"""The conversions table: one converter conversion per deposit it converts.

Keys: `deposit_key` (the deposit's key: a deposit is converted once), put with
`attribute_not_exists` in the transaction that maps the deposit. Indexes: `due` (hash
`pending_status`, range `due_us`; sparse: queued or sending), the scheduler's queue, read
with `due_us <= now`, soonest first (one a pass could not finish is deferred, `defer`),
`by_id` (`kind` =
"conversion", numeric `id`), and one filter index per list filter (`by_to_address`,
`by_to_txid`, `by_to_coin`, `by_from_coin`, `by_from_address`, each by `id`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.ledger import paging, store
from chalicelib.ledger.stores.memory import MemoryLedger
from chalicelib.ledger.stores.records import PRESENT, DynamoRecords, Index, MemoryRecords, OnFail

FILTERS = ("to_address", "to_txid", "to_coin", "from_coin", "from_address")
INDEXES = (
    Index("due", "pending_status", "due_us"),
    Index("by_id", "kind", "id"),
    *(Index(f"by_{name}", name, "id") for name in FILTERS),
)


@dataclass(frozen=True)
class Conversion:
    deposit_key: str
    id: int
    deposit_id: int
    from_coin: str
    to_coin: str
    to_address: str
    from_amount: int
    to_amount: int
    created_us: int
    updated_us: int
    from_address: str | None = None
    to_memo: str | None = None
    ex_fee: int = 0
    tx_fee: int = 0
    to_txid: str | None = None
    status: str = "queued"  # queued | sending | sent | rejected
    pending_status: str | None = None  # present only while queued or sending
    due_us: int | None = None  # when the scheduler tries it (next)
    attempts: int = 0  # passes that tried it and could not finish it
    error: str | None = None
    kind: str = "conversion"  # the `by_id` index's partition


class ConversionStore(Protocol):
    def get(self, deposit_key: str, consistent: bool = True) -> Conversion | None: ...

    def stage_create(self, tx: Any, conversion: Conversion) -> None:
        """Add to `tx`: put the conversion unless its deposit has one (`store.StaleRead` then)."""

    def stage_change(self, tx: Any, deposit_key: str, expect_status: str, changes: dict[str, Any],
                     on_fail: OnFail = store.StaleRead) -> None:
        """Add to `tx`: set (None: remove) fields if the status is still `expect_status`."""

    def due(self, status: str, now_us: int, limit: int) -> list[Conversion]:
        """Conversions in `status` (queued | sending) due by `now_us`, soonest first."""

    def defer(self, deposit_key: str, attempts: int, due_us: int) -> bool:
        """A conversion still queued or sending is tried again at `due_us`; False if it is done."""

    def by_id(self, conversion_id: int) -> Conversion | None: ...

    def listing(self, field: str | None, value: str, limit: int) -> list[Conversion]:
        """The first `limit` conversions by id, of one filter value (`FILTERS`), or all (`field` None)."""

    def page(self, field: str | None, value: str, limit: int, cursor: str | None,
             keep: Callable[[Conversion], bool]) -> paging.Page[Conversion]:
        """Newest first (by id), of one filter value or all, resumable by `cursor`."""


class _Conversions:
    _records: DynamoRecords | MemoryRecords

    def get(self, deposit_key: str, consistent: bool = True) -> Conversion | None:
        return self._records.get(deposit_key, consistent)

    def stage_create(self, tx, conversion: Conversion) -> None:
        self._records.stage_create(tx, conversion)

    def stage_change(self, tx, deposit_key: str, expect_status: str, changes: dict[str, Any],
                     on_fail: OnFail = store.StaleRead) -> None:
        self._records.stage_change(tx, deposit_key, changes, {"status": expect_status}, on_fail)

    def due(self, status: str, now_us: int, limit: int) -> list[Conversion]:
        return self._records.query("due", status, limit=limit, at_most=now_us)

    def defer(self, deposit_key: str, attempts: int, due_us: int) -> bool:
        return self._records.change(deposit_key, {"attempts": attempts, "due_us": due_us},
                                    {"pending_status": PRESENT})

    def by_id(self, conversion_id: int) -> Conversion | None:
        return next(iter(self._records.query("by_id", "conversion", limit=1, equal=conversion_id)), None)

    def listing(self, field: str | None, value: str, limit: int) -> list[Conversion]:
        if field is None:
            return self._records.query("by_id", "conversion", limit=limit)
        return self._records.query(f"by_{field}", value, limit=limit)

    def page(self, field: str | None, value: str, limit: int, cursor: str | None,
             keep: Callable[[Conversion], bool]) -> paging.Page[Conversion]:
        if field is None:
            return self._records.page("by_id", "conversion", limit, cursor, keep)
        return self._records.page(f"by_{field}", value, limit, cursor, keep)


class DynamoConversions(_Conversions):
    def __init__(self):
        from chalicelib.ledger.models import Conversion as ConversionItem

        self._records = DynamoRecords(ConversionItem, Conversion, INDEXES)


class MemoryConversions(_Conversions):
    def __init__(self, ledger: MemoryLedger):
        self._records = MemoryRecords(ledger, Conversion, "deposit_key", INDEXES)
