"""Heartbeats of the background work, and the health report built from them.

The matcher records each stream batch (when, how far behind the newest record was, which
markets failed or recovered) and the scheduler each completed pass, through the
heartbeat store (`stores.heartbeats()`: two items of the `counters` table, one UpdateItem
per batch or pass, never a Scan). `report` reads both in one BatchGetItem, which is also
the database check.

A heartbeat write that fails is logged and dropped: health bookkeeping never fails the
work it describes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from chalicelib import settings
from chalicelib.ledger import stores
from chalicelib.ledger.clock import Clock, iso_utc
from chalicelib.ledger.stores.heartbeats import SCHEDULER_KEY, STREAM_KEY

log = logging.getLogger("lambdex.health")


def record_stream_batch(clock: Clock, newest_record_time: float | None, failed: list[str],
                        settled: list[str]) -> None:
    """A stream batch was handled: `failed` markets could not be settled, `settled` ones were."""
    now = clock.now()
    try:
        lag = None if newest_record_time is None else round(max(0.0, now - newest_record_time), 3)
        stores.heartbeats().record_stream(now, lag, set(failed), set(settled) - set(failed))
    except Exception as error:  # noqa: BLE001 - bookkeeping only, see the module docstring
        log.warning("heartbeat not recorded", extra={"heartbeat": STREAM_KEY, "error": repr(error)})


def record_scheduler_pass(clock: Clock, ms: float) -> None:
    try:
        stores.heartbeats().record_scheduler(clock.now(), ms)
    except Exception as error:  # noqa: BLE001 - bookkeeping only
        log.warning("heartbeat not recorded", extra={"heartbeat": SCHEDULER_KEY, "error": repr(error)})


@dataclass(frozen=True)
class Report:
    status: str  # ok | degraded | unavailable
    body: dict


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else iso_utc(int(seconds * 1_000_000))


def report(clock: Clock) -> Report:
    """Database reachable, stream lag, last scheduler pass, failing markets."""
    started = time.perf_counter()
    try:
        beats = stores.heartbeats().read()
        database = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as error:  # noqa: BLE001 - any failure to reach the table is the finding
        log.error("health check: database unreachable", extra={"error": repr(error)})
        return Report("unavailable", {"status": "unavailable", "database": {"ok": False, "error": type(error).__name__},
                                      "time": _iso(clock.now())})
    now = clock.now()
    lag = beats.lag_seconds
    max_lag = float(settings.get("LAMBDEX_HEALTH_MAX_STREAM_LAG"))
    last_pass = beats.scheduler_at
    max_age = float(settings.get("LAMBDEX_HEALTH_MAX_SCHEDULER_AGE"))
    failing = sorted(beats.failing)
    checks = {
        "database": database,
        # a quiet stream (no batch yet) is healthy: only orders make batches
        "stream": {"ok": lag is None or lag <= max_lag, "last_batch_at": _iso(beats.stream_at),
                   "lag_seconds": lag, "max_lag_seconds": max_lag},
        "scheduler": {"ok": last_pass is not None and now - last_pass <= max_age, "last_pass_at": _iso(last_pass),
                      "age_seconds": None if last_pass is None else round(now - last_pass, 3),
                      "max_age_seconds": max_age},
        "markets": {"ok": not failing, "failing": failing},
    }
    status = "ok" if all(check["ok"] for check in checks.values()) else "degraded"
    return Report(status, {"status": status, **checks, "block_index": clock.block_index(), "time": _iso(now)})
