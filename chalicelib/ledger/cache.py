"""A small per-process cache for what (practically) never changes: assets, markets,
token lookups, API keys. A warm Lambda container then reads an asset once, not once per
order or price level.

Entries expire after their `ttl`; a miss (`None`) is cached too, for `negative_ttl`
(short: something created in another process is seen soon after). A write in this
process drops the entry it changes (`forget`), so this process sees its own writes at
once. Time is `time.monotonic` unless a test injects another timer (`use_timer`).
At most `MAX_ENTRIES` are kept (the oldest go first), so lookups of made-up names
cannot grow a warm container's memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

NEGATIVE_TTL = 1.0  # seconds a "no such thing" answer is kept
MAX_ENTRIES = 4096

_lock = threading.Lock()
_entries: OrderedDict[tuple[str, str], tuple[float, object]] = OrderedDict()
_timer: Callable[[], float] = time.monotonic


def cached(kind: str, key: str, ttl: float, load: Callable[[], T | None],
           negative_ttl: float = NEGATIVE_TTL) -> T | None:
    now = _timer()
    with _lock:
        entry = _entries.get((kind, key))
    if entry and entry[0] > now:
        return entry[1]  # type: ignore[return-value]
    value = load()
    lifetime = ttl if value is not None else negative_ttl
    if lifetime > 0:
        with _lock:
            _entries[(kind, key)] = (now + lifetime, value)
            _entries.move_to_end((kind, key))
            while len(_entries) > MAX_ENTRIES:
                _entries.popitem(last=False)
    return value


def forget(kind: str, key: str) -> None:
    with _lock:
        _entries.pop((kind, key), None)


def clear() -> None:
    with _lock:
        _entries.clear()


def use_timer(timer: Callable[[], float] | None) -> None:
    """Measure expiry with `timer` (seconds, monotonic); None restores `time.monotonic`."""
    global _timer
    _timer = timer or time.monotonic
