"""A small per-process cache for configuration that (practically) never changes:
assets and market settings. A warm Lambda container then reads an asset once, not
once per order or price level. Only found items are cached (a new asset is visible at
once); entries expire after a few seconds, so an edited market is seen soon after."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_entries: dict[tuple[str, str], tuple[float, object]] = {}


def cached(kind: str, key: str, ttl: float, load: Callable[[], T | None]) -> T | None:
    now = time.monotonic()
    with _lock:
        entry = _entries.get((kind, key))
    if entry and entry[0] > now:
        return entry[1]  # type: ignore[return-value]
    value = load()
    if value is not None:
        with _lock:
            _entries[(kind, key)] = (now + ttl, value)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()


def forget(kind: str, key: str) -> None:
    """Drop one entry: this process sees its own change at once (others within the TTL)."""
    with _lock:
        _entries.pop((kind, key), None)
