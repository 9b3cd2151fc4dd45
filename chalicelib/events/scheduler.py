"""The scheduled pass. Each step is idempotent and safe to run concurrently:
deposits (credited, or mapped to conversions), conversions and withdrawals (sent
through the chain adapter), expiry of pending matches and of orders, and the
reconciler that settles any book a lost or stale stream trigger left crossed."""

from __future__ import annotations

import logging

from chalicelib.ledger import conversions, deposits, external, health, markets, orders, settlement, withdrawals
from chalicelib.ledger.clock import Clock
from chalicelib.logs import Timer

log = logging.getLogger("lambdex.scheduler")


def run(clock: Clock) -> dict:
    timer = Timer()
    report: dict = {"deposits": deposits.process_new_deposits(clock)}
    report["conversions"] = conversions.process_conversions(clock)
    report["withdrawals"] = withdrawals.process_withdrawals(clock)
    report.update(expired=0, expired_matches=0, fills=0)
    for market in markets.list_markets():
        report["expired_matches"] += external.expire_pending_matches(market.id, clock)
        report["expired"] += orders.expire_due_orders(market.id, clock)
        report["fills"] += settlement.match_market(market.id, clock).fills
    log.info("scheduler pass", extra={"report": report, "ms": timer.ms(), "block_index": clock.block_index()})
    health.record_scheduler_pass(clock, timer.ms())
    return report
