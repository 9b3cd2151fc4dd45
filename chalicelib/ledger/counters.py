"""Numeric ids for the dialects that show them (converter deposits, pairs, 0x markets)."""

from __future__ import annotations

from chalicelib.ledger import stores


def next_id(name: str) -> int:
    """Atomically allocate the next number of `name` (1, 2, 3, ...).

    A number allocated by a request that then fails is skipped, never reused.
    """
    return stores.counters().next_id(name)
