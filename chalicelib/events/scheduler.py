"""The scheduled pass. Each step is idempotent and safe to run concurrently:
deposits (credited, or mapped to conversions), conversions and withdrawals (sent
through the chain adapter), expiry of pending matches and of orders, and the
reconciler that settles any book a lost or stale stream trigger left crossed.

Isolation: every step, and every market within the market steps, runs in its own guard.
A failure is logged with its step and market, counted (`failures` in the pass report and
the `SchedulerFailures` metric of the pass's log line), recorded on the market item
(`failing_passes`, read by the audit), and retried by the next pass; it never stops the
other steps or markets. Within the deposit, conversion and withdrawal steps each item is
guarded the same way by its own loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalicelib.ledger import conversions, deposits, external, health, markets, orders, settlement, stores, withdrawals
from chalicelib.ledger.clock import Clock
from chalicelib.logs import Timer

log = logging.getLogger("lambdex.scheduler")

SETTLE_ROUNDS = 50


class MarketStuck(Exception):
    """Every settlement round of the pass was refused: the market did not settle."""


def settle(market_id: str, clock: Clock) -> int:
    """The reconciler step for one market: its fills, or MarketStuck when no round committed."""
    result = settlement.match_market(market_id, clock, max_rounds=SETTLE_ROUNDS)
    if result.retries >= SETTLE_ROUNDS and not result.transactions:
        raise MarketStuck(f"{result.retries} settlement rounds refused, none committed")
    return result.fills


GLOBAL_STEPS: tuple[tuple[str, Callable[[Clock], dict]], ...] = (
    ("deposits", deposits.process_new_deposits),
    ("conversions", conversions.process_conversions),
    ("withdrawals", withdrawals.process_withdrawals),
)
MARKET_STEPS: tuple[tuple[str, Callable[[str, Clock], int]], ...] = (
    ("expired_matches", external.expire_pending_matches),
    ("expired", orders.expire_due_orders),
    ("fills", settle),
)


class _Failed:
    """What a guarded step returns when it raised."""


FAILED = _Failed()


def run(clock: Clock) -> dict:
    timer = Timer()
    report: dict = {"failures": 0, "failed": []}
    reasons: dict[str, list[str]] = {}

    def guarded(step: str, market: str | None, call: Callable[[], object]) -> object:
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - isolation is the point: log, count, go on
            report["failures"] += 1
            report["failed"].append(f"{step}:{market}" if market else step)
            reasons.setdefault(market or "", []).append(f"{step}: {type(error).__name__}: {error}")
            log.exception("scheduler step failed", extra={"step": step, "market": market,
                                                          "error": f"{type(error).__name__}: {error}"})
            return FAILED

    for step, process in GLOBAL_STEPS:
        counts = guarded(step, None, lambda process=process: process(clock))
        report[step] = counts if isinstance(counts, dict) else {}
        report["failures"] += report[step].get("failed", 0)  # items a step's own loop isolated
    report.update({step: 0 for step, _ in MARKET_STEPS})
    listed = guarded("markets", None, markets.list_markets)
    for market in listed if isinstance(listed, list) else []:
        failed_steps = []
        for step, call in MARKET_STEPS:
            result = guarded(step, market.id, lambda call=call, market_id=market.id: call(market_id, clock))
            if result is FAILED:
                failed_steps.append(step)
            else:
                report[step] += result
        _record_health(market, failed_steps, "; ".join(reasons.get(market.id, [])))
    log.info("scheduler pass", extra={
        "report": report, "ms": timer.ms(), "block_index": clock.block_index(),
        # CloudWatch embedded metric format: the failures become a metric with no API call
        "_aws": {"Timestamp": int(clock.now() * 1000), "CloudWatchMetrics": [{
            "Namespace": "Lambdex", "Dimensions": [["Function"]],
            "Metrics": [{"Name": "SchedulerFailures", "Unit": "Count"}]}]},
        "Function": "scheduler", "SchedulerFailures": report["failures"]})
    health.record_scheduler_pass(clock, timer.ms())
    return report


def _record_health(market, failed_steps: list[str], reason: str) -> None:
    """Count a failed pass on the market item, or clear the count once it passes again.
    Bookkeeping only: a failure to record is logged, never raised."""
    try:
        if failed_steps:
            count = stores.markets().record_failure(market.id, f"scheduler: {reason}")
            log.warning("market failing", extra={"market": market.id, "failing_passes": count,
                                                 "steps": failed_steps})
        elif market.failing_passes:
            stores.markets().clear_failures(market.id)
            log.info("market recovered", extra={"market": market.id, "after_passes": market.failing_passes})
    except Exception:  # noqa: BLE001
        log.exception("market health not recorded", extra={"market": market.id})

