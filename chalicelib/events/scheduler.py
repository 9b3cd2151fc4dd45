"""The scheduled pass: deposits (credited, or mapped to conversions), conversions and
withdrawals (debited, then sent through the chain adapter), then (as the ledger grows)
expirations and the reconciler. Each step is idempotent and safe to run concurrently."""

from __future__ import annotations

import logging

from chalicelib.ledger import conversions, deposits, withdrawals
from chalicelib.ledger.clock import Clock
from chalicelib.logs import Timer

log = logging.getLogger("lambdex.scheduler")


def run(clock: Clock) -> dict[str, dict[str, int]]:
    timer = Timer()
    report = {"deposits": deposits.process_new_deposits(clock)}
    report["conversions"] = conversions.process_conversions(clock)
    report["withdrawals"] = withdrawals.process_withdrawals(clock)
    log.info("scheduler pass", extra={"report": report, "ms": timer.ms(), "block_index": clock.block_index()})
    return report
