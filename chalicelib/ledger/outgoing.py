"""The two steps every outgoing transfer takes (conversions and withdrawals).

A transfer waits in a first state until one keyed transaction moves it to an in-flight
state (after which it may have been sent, so it is never started again), then the
chain adapter sends it, keyed by the transfer's id, so a repeated send is the same send.
Concurrent and repeated scheduler passes call `advance` on the same transfer safely.
A pass takes the transfers that are due (`process_due`); one it could not finish is
deferred (`backoff.retry_delay_us`), so failing ones never stand in front of the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from chalicelib.errors import LedgerError
from chalicelib.ledger import store
from chalicelib.ledger.backoff import retry_delay_us

log = logging.getLogger("lambdex.outgoing")

T = TypeVar("T")


def advance(kind: str, key: str, load: Callable[[], T | None], waiting: str, in_flight: str,
            start: Callable[[T], None], send: Callable[[T], str]) -> str:
    """Move one transfer as far as it goes; returns what happened ("skipped", "retry" or `send`'s answer)."""

    def attempt() -> str:
        transfer = load()
        if transfer is None or transfer.status not in (waiting, in_flight):
            return "skipped"
        if transfer.status == waiting:
            try:
                start(transfer)
            except store.AlreadyApplied:
                return "skipped"  # another pass started it and is sending it
            transfer = load()
            assert transfer is not None
        return send(transfer)

    try:
        return store.run(attempt, what=f"{kind} {key}")
    except LedgerError as error:
        log.warning(f"{kind} not advanced", extra={kind: key, "reason": error.message})
        return "retry"


def process_due(kind: str, due: list, key_of: Callable[[T], str], advance_one: Callable[[str], str],
                defer: Callable[[str, int, int], bool], now_us: int, counts: dict[str, int]) -> dict[str, int]:
    """Advance each due transfer once; one that did not finish ("retry", or an error) is
    tried again after its back-off. `due` may name a transfer twice (read in two states)."""
    attempts_of = {}
    for transfer in due:
        attempts_of.setdefault(key_of(transfer), transfer.attempts)
    for key, attempts in attempts_of.items():
        try:
            outcome = advance_one(key)
        except Exception:  # noqa: BLE001 - one bad transfer never stops the others; retried after its back-off
            outcome = "failed"
            log.exception(f"{kind} not advanced", extra={kind: key})
        counts[outcome] += 1
        if outcome in ("retry", "failed"):
            try:
                defer(key, attempts + 1, now_us + retry_delay_us(attempts + 1))
            except Exception as error:  # noqa: BLE001 - it stays due: tried again next pass
                log.warning(f"{kind} not deferred", extra={kind: key, "error": repr(error)})
    return counts
