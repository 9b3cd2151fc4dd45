"""What the in-memory stores share: one lock, the balances, the journal, and `MemoryTx`.

`MemoryTx` has the balance side of `store.Tx` (`move`, `postings`, `commit` with the
journal entry as idempotency key) and the same failures: `AlreadyApplied` when the entry
exists, `InsufficientFunds` when a debit would take a balance below zero (or touch a
frozen one), the staged item's own error when its condition fails. Stores stage their
writes on it as a condition (`check`, returning the error or None) and an effect
(`apply`); commit checks everything, then applies everything, under the one lock, so
it is all-or-nothing like a `TransactWriteItems`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.errors import InsufficientFunds
from chalicelib.ledger.store import MAX_TRANSACTION_ITEMS, AlreadyApplied, BalanceDeltas


@dataclass
class BalanceRow:
    available: int = 0
    locked: int = 0
    frozen: bool = False


@dataclass
class MemoryLedger:
    """The state of one in-memory ledger (a fresh one per test)."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    balances: dict[tuple[str, str], BalanceRow] = field(default_factory=dict)
    journal: dict[str, dict[str, Any]] = field(default_factory=dict)

    def tx(self) -> MemoryTx:
        return MemoryTx(ledger=self)


Check = Callable[[], Exception | None]


@dataclass
class MemoryTx(BalanceDeltas):
    ledger: MemoryLedger = field(default_factory=MemoryLedger)
    staged: list[tuple[Check, Callable[[], None]]] = field(default_factory=list)

    def stage(self, check: Check, apply: Callable[[], None]) -> None:
        self.staged.append((check, apply))

    def size(self) -> int:
        return len(self.staged) + len(self.postings()) + 1

    def byte_size(self) -> int:
        return 0  # no byte limit in memory (`store.Tx.byte_size` bounds DynamoDB's 4 MB)

    def commit(self, entry_id: str, kind: str, ref: str, time_us: int, block_index: int = 0,
               action: Any = None) -> None:
        postings = self.postings()
        if self.size() > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"transaction of {self.size()} items exceeds {MAX_TRANSACTION_ITEMS}")
        with self.ledger.lock:
            if entry_id in self.ledger.journal:
                raise AlreadyApplied(entry_id)
            for check, _ in self.staged:
                failure = check()
                if failure is not None:
                    raise failure
            for p in postings:
                row = self.ledger.balances.get((p["address"], p["asset"]), BalanceRow())
                if (p["available"] < 0 and (row.available < -p["available"] or row.frozen)) or (
                        p["locked"] < 0 and row.locked < -p["locked"]):
                    raise InsufficientFunds(f"insufficient {p['asset']} balance of {p['address']}")
            for _, apply in self.staged:
                apply()
            for p in postings:
                row = self.ledger.balances.setdefault((p["address"], p["asset"]), BalanceRow())
                row.available += p["available"]
                row.locked += p["locked"]
            self.ledger.journal[entry_id] = {"id": entry_id, "kind": kind, "ref": ref, "postings": postings,
                                             "time_us": time_us, "block_index": block_index}
            if action is not None:  # an operator's change (chalicelib/ledger/actions.py)
                self.ledger.journal[entry_id].update(operator=action.operator, reason=action.reason)
