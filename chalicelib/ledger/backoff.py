"""How long the scheduler leaves work it could not finish before it tries again.

Deposits, withdrawals and conversions are read from their tables' `due` indexes
(`due_us <= now`, soonest first, a bounded number per pass). One a pass could not finish
(an error, a send with an unknown outcome, too few confirmations) gets a later `due_us`,
so however many such items there are, they never stand in front of the others.
"""

from __future__ import annotations

RETRY_SECONDS = 30  # the first back-off; the scheduler runs every minute, so the next pass retries
MAX_RETRY_SECONDS = 900


def retry_delay_us(attempts: int) -> int:
    """The wait after the `attempts`-th unfinished try: 30 s, doubling, at most 15 min."""
    return min(MAX_RETRY_SECONDS, RETRY_SECONDS * 2 ** min(max(attempts - 1, 0), 16)) * 1_000_000
