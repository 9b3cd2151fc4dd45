"""How long the scheduler leaves work it could not finish before it tries again.

Deposits, withdrawals and conversions are read from their tables' `due` indexes
(`due_us <= now`, soonest first, a bounded number per pass). One a pass could not finish
(an error, a send with an unknown outcome, too few confirmations) gets a later `due_us`,
so however many such items there are, they never stand in front of the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("lambdex.backoff")

RETRY_SECONDS = 30  # the first back-off; the scheduler runs every minute, so the next pass retries
MAX_RETRY_SECONDS = 900


def retry_delay_us(attempts: int) -> int:
    """The wait after the `attempts`-th unfinished try: 30 s, doubling, at most 15 min."""
    return min(MAX_RETRY_SECONDS, RETRY_SECONDS * 2 ** min(max(attempts - 1, 0), 16)) * 1_000_000


def process_due(kind: str, due: Iterable[Any], key_of: Callable[[Any], str], handle: Callable[[str], str],
                defer: Callable[[str, int, int], bool], now_us: int, counts: dict[str, int],
                unfinished: tuple[str, ...] = ("retry", "failed")) -> dict[str, int]:
    """Handle each due item once (`handle(key)` returns an outcome, counted); one whose outcome
    is `unfinished` (or that raised: "failed") is tried again after its back-off. `due` may
    name an item twice (read in two states); each item carries its `attempts`."""
    attempts_of: dict[str, int] = {}
    for item in due:
        attempts_of.setdefault(key_of(item), item.attempts)
    for key, attempts in attempts_of.items():
        try:
            outcome = handle(key)
        except Exception:  # noqa: BLE001 - one bad item never stops the others; retried after its back-off
            outcome = "failed"
            log.exception(f"{kind} not processed", extra={kind: key})
        counts[outcome] += 1
        if outcome in unfinished or outcome == "failed":
            try:
                defer(key, attempts + 1, now_us + retry_delay_us(attempts + 1))
            except Exception as error:  # noqa: BLE001 - it stays due: tried again next pass
                log.warning(f"{kind} not deferred", extra={kind: key, "error": repr(error)})
    return counts
