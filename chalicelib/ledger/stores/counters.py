"""Named counters (`counters` table): numeric ids the dialects show (0x market numbers,
converter pair and deposit ids). A number drawn by a request that then fails is skipped."""

from __future__ import annotations

from typing import Protocol

from chalicelib.ledger.models import Counter
from chalicelib.ledger.stores.memory import MemoryLedger


class CounterStore(Protocol):
    def next_id(self, name: str) -> int:
        """Atomically the next number of `name`: 1, 2, 3, ..."""


class DynamoCounters:
    def next_id(self, name: str) -> int:
        counter = Counter(name)
        counter.update(actions=[Counter.value.add(1)])  # ADD: atomic, no read first
        return int(counter.value)


class MemoryCounters:
    def __init__(self, ledger: MemoryLedger):
        self._ledger = ledger
        self._values: dict[str, int] = {}

    def next_id(self, name: str) -> int:
        with self._ledger.lock:
            self._values[name] = self._values.get(name, 0) + 1
            return self._values[name]
