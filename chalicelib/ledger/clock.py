"""Injected time. The core never reads the system clock directly.

`block_index` is derived from time with a configured genesis and block interval, so a
Counterparty `expiration` (in blocks) and a 0x `expirationUnixTimestampSec` both
become one expiry instant.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class Clock:
    genesis_time: int
    genesis_block: int
    block_seconds: int

    def now(self) -> float:
        return time.time()

    def now_us(self) -> int:
        return int(self.now() * 1_000_000)

    def block_index(self) -> int:
        return self.block_at(self.now())

    def block_at(self, unix_time: float) -> int:
        return self.genesis_block + int((unix_time - self.genesis_time) // self.block_seconds)

    def time_of_block(self, block_index: int) -> int:
        """Unix time at which `block_index` begins."""
        return self.genesis_time + (block_index - self.genesis_block) * self.block_seconds


@dataclass
class FixedClock(Clock):
    """A clock that only moves when told to: for tests and replays."""

    current: float = field(default=0.0)

    def now(self) -> float:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += seconds


def system_clock() -> Clock:
    from chalicelib import settings

    return Clock(settings.genesis_time(), settings.genesis_block(), settings.block_seconds())


_current: Clock | None = None


def current() -> Clock:
    """The clock the entry points hand to the core (tests replace it with `use`)."""
    global _current
    if _current is None:
        _current = system_clock()
    return _current


def use(clock: Clock | None) -> None:
    global _current
    _current = clock


def iso_utc(time_us: int) -> str:
    """Microseconds since the epoch as ISO 8601 UTC, e.g. '2019-03-20T04:31:30.643406Z'."""
    moment = datetime.fromtimestamp(time_us // 1_000_000, UTC).replace(microsecond=time_us % 1_000_000)
    return moment.isoformat().replace("+00:00", "Z")
