"""Heartbeats of the background work, and the health report built from them.

The matcher records each stream batch (when, how far behind the newest record was, which
markets failed or recovered) and the scheduler each completed pass, in two items of the
`counters` table under keys of their own (``health#stream``, ``health#scheduler``):
one UpdateItem per batch or pass, never a Scan. `report` reads both in one BatchGetItem,
which is also the database check.

A heartbeat write that fails is logged and dropped: health bookkeeping never fails the
work it describes.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

from chalicelib import settings
from chalicelib.ledger import db
from chalicelib.ledger.clock import Clock, iso_utc

log = logging.getLogger("lambdex.health")

STREAM_KEY = "health#stream"
SCHEDULER_KEY = "health#scheduler"


def _table() -> str:
    from chalicelib.ledger.models import Counter

    return Counter.Meta.table_name


@functools.cache
def _probe_client(endpoint: str | None):
    """A client that gives up fast: a health check must answer while the database does not."""
    from botocore.config import Config

    return db.session().create_client(
        "dynamodb", region_name=settings.region(), endpoint_url=endpoint,
        config=Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 1, "mode": "standard"}))


def _update(key: str, expression: str, values: dict, names: dict | None = None) -> None:
    request = {"TableName": _table(), "Key": {"name": {"S": key}}, "UpdateExpression": expression,
               "ExpressionAttributeValues": values}
    if names:
        request["ExpressionAttributeNames"] = names
    db.client().update_item(**request)


def record_stream_batch(clock: Clock, newest_record_time: float | None, failed: list[str],
                        settled: list[str]) -> None:
    """A stream batch was handled: `failed` markets could not be settled, `settled` ones were."""
    now = clock.now()
    try:
        values = {":at": {"N": str(now)}}
        expression = "SET #at = :at"
        if newest_record_time is not None:
            values[":lag"] = {"N": str(round(max(0.0, now - newest_record_time), 3))}
            expression += ", lag_seconds = :lag"
        recovered = sorted(set(settled) - set(failed))
        if recovered:
            values[":ok"] = {"SS": recovered}
            expression += " DELETE failing :ok"
        _update(STREAM_KEY, expression, values, {"#at": "at"})
        if failed:  # ADD and DELETE of one set cannot share an update expression
            _update(STREAM_KEY, "ADD failing :bad", {":bad": {"SS": sorted(set(failed))}})
    except Exception as error:  # noqa: BLE001 - bookkeeping only, see the module docstring
        log.warning("heartbeat not recorded", extra={"heartbeat": STREAM_KEY, "error": repr(error)})


def record_scheduler_pass(clock: Clock, ms: float) -> None:
    try:
        _update(SCHEDULER_KEY, "SET #at = :at, ms = :ms",
                {":at": {"N": str(clock.now())}, ":ms": {"N": str(ms)}}, {"#at": "at"})
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
        found = _probe_client(db._endpoint).batch_get_item(RequestItems={_table(): {
            "Keys": [{"name": {"S": STREAM_KEY}}, {"name": {"S": SCHEDULER_KEY}}]}})
        items = {i["name"]["S"]: i for i in found["Responses"].get(_table(), [])}
        database = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as error:  # noqa: BLE001 - any failure to reach the table is the finding
        log.error("health check: database unreachable", extra={"error": repr(error)})
        return Report("unavailable", {"status": "unavailable", "database": {"ok": False, "error": type(error).__name__},
                                      "time": _iso(clock.now())})
    now = clock.now()
    stream, scheduler = items.get(STREAM_KEY, {}), items.get(SCHEDULER_KEY, {})

    def number(item: dict, name: str) -> float | None:
        return float(item[name]["N"]) if name in item else None

    lag = number(stream, "lag_seconds")
    max_lag = float(settings.get("LAMBDEX_HEALTH_MAX_STREAM_LAG"))
    last_pass = number(scheduler, "at")
    max_age = float(settings.get("LAMBDEX_HEALTH_MAX_SCHEDULER_AGE"))
    failing = sorted(stream.get("failing", {}).get("SS", []))
    checks = {
        "database": database,
        # a quiet stream (no batch yet) is healthy: only orders make batches
        "stream": {"ok": lag is None or lag <= max_lag, "last_batch_at": _iso(number(stream, "at")),
                   "lag_seconds": lag, "max_lag_seconds": max_lag},
        "scheduler": {"ok": last_pass is not None and now - last_pass <= max_age, "last_pass_at": _iso(last_pass),
                      "age_seconds": None if last_pass is None else round(now - last_pass, 3),
                      "max_age_seconds": max_age},
        "markets": {"ok": not failing, "failing": failing},
    }
    status = "ok" if all(check["ok"] for check in checks.values()) else "degraded"
    return Report(status, {"status": status, **checks, "block_index": clock.block_index(), "time": _iso(now)})
