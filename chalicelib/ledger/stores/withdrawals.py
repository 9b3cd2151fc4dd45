"""The withdrawals table: one item per withdrawal an account requested.

Keys: `id` (a random hex id), put with `attribute_not_exists` in the transaction that
locks the amount. Indexes: `due` (hash `pending_status`, range `due_us`; sparse: pending
or signed), the scheduler's queue, read with `due_us <= now`, soonest first (one a pass
could not finish is deferred, `defer`); `by_account` and `all_withdrawals` (`kind` =
"withdrawal"), both by `created_us` (newest first for the lists).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.ledger import paging, store
from chalicelib.ledger.stores.memory import MemoryLedger
from chalicelib.ledger.stores.records import PRESENT, DynamoRecords, Index, MemoryRecords, OnFail

INDEXES = (
    Index("due", "pending_status", "due_us"),
    Index("by_account", "account", "created_us"),
    Index("all_withdrawals", "kind", "created_us"),
)


@dataclass(frozen=True)
class Withdrawal:
    id: str
    account: str
    coin: str
    address: str
    quantity: int  # what the address receives; the account pays quantity + fee
    created_us: int
    updated_us: int
    memo: str | None = None  # memo-based coins
    fee: int = 0
    status: str = "pending"  # pending | signed | sent | refunded
    pending_status: str | None = None  # present only while pending or signed
    due_us: int | None = None  # when the scheduler tries it (next)
    attempts: int = 0  # passes that tried it and could not finish it
    txid: str | None = None
    error: str | None = None
    kind: str = "withdrawal"  # the `all_withdrawals` index's partition


class WithdrawalStore(Protocol):
    def get(self, withdrawal_id: str, consistent: bool = True) -> Withdrawal | None: ...

    def stage_create(self, tx: Any, withdrawal: Withdrawal) -> None:
        """Add to `tx`: put the withdrawal unless its id exists (`store.StaleRead` then)."""

    def change(self, withdrawal_id: str, expect_status: str, changes: dict[str, Any]) -> bool:
        """Set (None: remove) fields if the status is still `expect_status`; False if not."""

    def stage_change(self, tx: Any, withdrawal_id: str, expect_status: str, changes: dict[str, Any],
                     on_fail: OnFail = store.StaleRead) -> None:
        """Add `change` to `tx`; the commit raises `on_fail` if the status moved."""

    def due(self, status: str, now_us: int, limit: int) -> list[Withdrawal]:
        """Withdrawals in `status` (pending | signed) due by `now_us`, soonest first."""

    def defer(self, withdrawal_id: str, attempts: int, due_us: int) -> bool:
        """A withdrawal still pending or signed is tried again at `due_us`; False if it is done."""

    def of_account(self, account: str, limit: int) -> list[Withdrawal]:
        """An account's withdrawals, newest first."""

    def page(self, account: str | None, limit: int, cursor: str | None,
             keep: Callable[[Withdrawal], bool]) -> paging.Page[Withdrawal]:
        """Newest first, one account's or everyone's, resumable by `cursor`."""


class _Withdrawals:
    _records: DynamoRecords | MemoryRecords

    def get(self, withdrawal_id: str, consistent: bool = True) -> Withdrawal | None:
        return self._records.get(withdrawal_id, consistent)

    def stage_create(self, tx, withdrawal: Withdrawal) -> None:
        self._records.stage_create(tx, withdrawal)

    def change(self, withdrawal_id: str, expect_status: str, changes: dict[str, Any]) -> bool:
        return self._records.change(withdrawal_id, changes, {"status": expect_status})

    def stage_change(self, tx, withdrawal_id: str, expect_status: str, changes: dict[str, Any],
                     on_fail: OnFail = store.StaleRead) -> None:
        self._records.stage_change(tx, withdrawal_id, changes, {"status": expect_status}, on_fail)

    def due(self, status: str, now_us: int, limit: int) -> list[Withdrawal]:
        return self._records.query("due", status, limit=limit, at_most=now_us)

    def defer(self, withdrawal_id: str, attempts: int, due_us: int) -> bool:
        return self._records.change(withdrawal_id, {"attempts": attempts, "due_us": due_us},
                                    {"pending_status": PRESENT})

    def of_account(self, account: str, limit: int) -> list[Withdrawal]:
        return self._records.query("by_account", account, limit=limit, newest_first=True)

    def page(self, account: str | None, limit: int, cursor: str | None,
             keep: Callable[[Withdrawal], bool]) -> paging.Page[Withdrawal]:
        if account is None:
            return self._records.page("all_withdrawals", "withdrawal", limit, cursor, keep)
        return self._records.page("by_account", account, limit, cursor, keep)


class DynamoWithdrawals(_Withdrawals):
    def __init__(self):
        from chalicelib.ledger.models import Withdrawal as WithdrawalItem

        self._records = DynamoRecords(WithdrawalItem, Withdrawal, INDEXES)


class MemoryWithdrawals(_Withdrawals):
    def __init__(self, ledger: MemoryLedger):
        self._records = MemoryRecords(ledger, Withdrawal, "id", INDEXES)
