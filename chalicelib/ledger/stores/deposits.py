"""The deposits table: one item per observed incoming transfer.

Keys: `key` = "COIN#txid#vout" (`deposit_key`), put with `attribute_not_exists(key)`, so
a transfer is recorded once however often it is posted. Indexes:

* `due` (hash `pending_status`, range `due_us`; sparse: only while the scheduler has work
  to do): the scheduler's queue, read with `due_us <= now`, soonest first. A deposit that
  fails or waits is deferred (`defer`: a later `due_us`), so it never sits in front of the
  others; a higher confirmation count makes it due at once;
* `by_id` (`kind` = "deposit", numeric `id`), `by_owner` (by `created_us`), and one
  filter index per converter filter (`by_address`, `by_txid`, `by_to_account`,
  `by_from_account`, `by_memo`, each by `id`).

Status changes are conditional on the status read (`expect`), alone (`change`) or staged
on the transaction that moves the balance (`stage_change`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.ledger import store
from chalicelib.ledger.stores.memory import MemoryLedger
from chalicelib.ledger.stores.records import DynamoRecords, Index, MemoryRecords, OnFail

FILTERS = ("address", "txid", "from_account", "to_account", "memo")  # the converter's list filters
INDEXES = (
    Index("due", "pending_status", "due_us"),
    Index("by_id", "kind", "id"),
    Index("by_owner", "owner", "created_us"),
    *(Index(f"by_{name}", name, "id") for name in FILTERS),
)


def deposit_key(coin: str, txid: str, vout: int) -> str:
    return f"{coin}#{txid}#{vout}"


@dataclass(frozen=True)
class Deposit:
    key: str
    id: int
    coin: str
    txid: str
    quantity: int
    created_us: int
    vout: int = 0
    address: str | None = None
    to_account: str | None = None
    memo: str | None = None
    from_account: str | None = None
    confirmations: int = 1
    tx_timestamp: str | None = None
    status: str = "new"  # new | mapped | credited | conv | inv | err | refund
    pending_status: str | None = None  # present only while the scheduler has work to do
    due_us: int | None = None  # when the scheduler tries it (next)
    attempts: int = 0  # passes that tried it and could not finish it (failed or waiting)
    owner: str | None = None  # the account credited
    convert_to: str | None = None
    error: str | None = None
    match_id: str | None = None  # pays an externally settled order match
    processed_at: str | None = None
    refund_address: str | None = None  # an operator's refund: where the coins go back to
    refund_memo: str | None = None
    refund_txid: str | None = None
    kind: str = "deposit"  # the `by_id` index's partition


class DepositStore(Protocol):
    def get(self, key: str, consistent: bool = True) -> Deposit | None: ...

    def create(self, deposit: Deposit) -> bool:
        """Put the deposit unless its key exists; False when it does."""

    def raise_confirmations(self, key: str, confirmations: int, now_us: int) -> bool:
        """Set a higher confirmation count (never a lower one), due at once; False if not higher."""

    def due(self, now_us: int, limit: int) -> list[Deposit]:
        """`new` deposits due by `now_us`, soonest first."""

    def pending(self, status: str, limit: int) -> list[Deposit]:
        """Deposits pending in `status` (new | mapped), in due order."""

    def defer(self, key: str, attempts: int, due_us: int) -> bool:
        """A `new` deposit is tried again at `due_us`; False if it is no longer new."""

    def change(self, key: str, expect_status: str, changes: dict[str, Any]) -> bool:
        """Set (None: remove) fields if the status is still `expect_status`; False if not."""

    def stage_change(self, tx: Any, key: str, expect_status: str, changes: dict[str, Any],
                     on_fail: OnFail = store.StaleRead) -> None:
        """Add `change` to `tx`; the commit raises `on_fail` if the status moved."""

    def of_owner(self, owner: str, limit: int) -> list[Deposit]:
        """An account's deposits, newest first."""

    def by_id(self, deposit_id: int) -> Deposit | None: ...

    def listing(self, field: str | None, value: str, limit: int) -> list[Deposit]:
        """The first `limit` deposits by id, of one filter value (`FILTERS`), or all (`field` None)."""


class _Deposits:
    """The queries both implementations share over their `records`."""

    _records: DynamoRecords | MemoryRecords

    def get(self, key: str, consistent: bool = True) -> Deposit | None:
        return self._records.get(key, consistent)

    def create(self, deposit: Deposit) -> bool:
        return self._records.create(deposit)

    def due(self, now_us: int, limit: int) -> list[Deposit]:
        return self._records.query("due", "new", limit=limit, at_most=now_us)

    def pending(self, status: str, limit: int) -> list[Deposit]:
        return self._records.query("due", status, limit=limit)

    def defer(self, key: str, attempts: int, due_us: int) -> bool:
        return self._records.change(key, {"attempts": attempts, "due_us": due_us},
                                    {"status": "new", "pending_status": "new"})

    def change(self, key: str, expect_status: str, changes: dict[str, Any]) -> bool:
        return self._records.change(key, changes, {"status": expect_status})

    def stage_change(self, tx, key: str, expect_status: str, changes: dict[str, Any],
                     on_fail: OnFail = store.StaleRead) -> None:
        self._records.stage_change(tx, key, changes, {"status": expect_status}, on_fail)

    def of_owner(self, owner: str, limit: int) -> list[Deposit]:
        return self._records.query("by_owner", owner, limit=limit, newest_first=True)

    def by_id(self, deposit_id: int) -> Deposit | None:
        return next(iter(self._records.query("by_id", "deposit", limit=1, equal=deposit_id)), None)

    def listing(self, field: str | None, value: str, limit: int) -> list[Deposit]:
        if field is None:
            return self._records.query("by_id", "deposit", limit=limit)
        return self._records.query(f"by_{field}", value, limit=limit)


class DynamoDeposits(_Deposits):
    def __init__(self):
        from chalicelib.ledger.models import Deposit as DepositItem

        self._item = DepositItem
        self._records = DynamoRecords(DepositItem, Deposit, INDEXES)

    def raise_confirmations(self, key: str, confirmations: int, now_us: int) -> bool:
        item, model = self._item(key), self._item
        return store.write_if(lambda: item.update(
            actions=[model.confirmations.set(confirmations), model.due_us.set(now_us)],
            condition=model.key.exists() & (model.confirmations < confirmations)))


class MemoryDeposits(_Deposits):
    def __init__(self, ledger: MemoryLedger):
        self._ledger = ledger
        self._records = MemoryRecords(ledger, Deposit, "key", INDEXES)

    def raise_confirmations(self, key: str, confirmations: int, now_us: int) -> bool:
        with self._ledger.lock:
            found = self._records.rows.get(key)
            if found is None or found.confirmations >= confirmations:
                return False
            return self._records.change(key, {"confirmations": confirmations, "due_us": now_us}, {})
