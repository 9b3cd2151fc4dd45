"""The two steps every outgoing transfer takes (conversions and withdrawals).

A transfer waits in a first state until one keyed transaction moves it to an in-flight
state (after which it may have been sent, so it is never started again), then the
chain adapter sends it, keyed by the transfer's id, so a repeated send is the same send.
Concurrent and repeated scheduler passes call `advance` on the same transfer safely.
A pass takes the transfers that are due and defers one it could not finish
(`backoff.process_due`), so failing ones never stand in front of the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from chalicelib.errors import LedgerError
from chalicelib.ledger import store

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

