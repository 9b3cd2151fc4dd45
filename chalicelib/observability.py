"""Logs and metrics of the Lambda functions, with AWS Lambda Powertools.

Logs: Powertools' `Logger` owns the `lambdex` logger, so every `lambdex.*` logger writes one
JSON object a line (on stderr) with `level` (`INFO`, `WARNING`, `ERROR`), `message`,
`timestamp`, `service`, `logger`, `location`, the fields given in `extra=`, and, inside an
invocation, `cold_start`, `function_name`, `function_request_id` and, for HTTP requests,
`correlation_id` (API Gateway's request id). The keys are per thread, as the local server
serves requests on several.

Metrics: CloudWatch embedded metric format (EMF) lines on stdout, namespace `Lambdex`,
dimension `service` = the table prefix (one per stage), written at the end of each invocation
(`invocation`): CloudWatch turns them into metrics without an API call. What is counted:

| metric | unit | where |
| --- | --- | --- |
| `OrdersPlaced` | Count | a new order entered the ledger (every dialect) |
| `Fills` | Count | fills settled (stream matcher and the scheduler's reconciler) |
| `SettlementLatency` | Milliseconds | newest stream record of a batch written -> its markets settled |
| `SettleRetries` | Count | a settlement round re-read after a conflict |
| `WriteRetries` | Count | a ledger write re-run after a stale read or contention |
| `FailingMarkets` | Count | markets of a stream batch that could not be settled |
| `Http5xx` | Count | API responses with a 5xx status (a view that raised included) |

Powertools' Tracer is not used: X-Ray tracing would add its SDK to every cold start.
`POWERTOOLS_METRICS_DISABLED=true` (the local runner's default) turns the metrics off.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from chalicelib import settings

NAMESPACE = "Lambdex"
METRICS = ("OrdersPlaced", "Fills", "SettlementLatency", "SettleRetries", "WriteRetries", "FailingMarkets", "Http5xx")
COUNT, MILLISECONDS = "Count", "Milliseconds"

_lock = threading.Lock()
_cold = True


@functools.cache
def logger():
    """The Powertools Logger of the `lambdex` logger tree (made once per process)."""
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.filters import SuppressFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_name_the_logger)
    made = Logger(service="lambdex", level=settings.get("LAMBDEX_LOG_LEVEL").upper(), logger_handler=handler,
                  use_rfc3339=True)
    logging.getLogger("lambdex").propagate = False  # one line per record, not one more from the root's handler
    logging.getLogger("pynamodb").setLevel(logging.WARNING)
    # Powertools also filters the root's handlers against "lambdex" as a substring of the
    # logger's name, which silenced the local tooling's `lambdex_local.*` lines (runner.ready,
    # scheduler.run, ...). The tree does not propagate, so there is nothing to suppress.
    for root_handler in logging.root.handlers:
        for unwanted in [f for f in root_handler.filters if isinstance(f, SuppressFilter)]:
            root_handler.removeFilter(unwanted)
    return made


def _name_the_logger(record: logging.LogRecord) -> bool:
    record.logger = record.name  # a `logger` key (lambdex.matcher, lambdex.http, ...) on every line
    return True


def configure() -> None:
    logger()


@functools.cache
def _metrics():
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=NAMESPACE, service=settings.table_prefix())


def metrics_enabled() -> bool:
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "false").lower() not in ("1", "true", "yes")


def count(name: str, value: float = 1, unit: str = COUNT) -> None:
    if name not in METRICS:
        raise ValueError(f"{name} is not one of METRICS (the template's alarms and dashboard name them)")
    if value and metrics_enabled():
        with _lock:
            _metrics().add_metric(name=name, unit=unit, value=value)


def milliseconds(name: str, value: float) -> None:
    count(name, max(value, 0.0) or 0.001, MILLISECONDS)


def flush() -> None:
    """Write the metrics gathered so far as one EMF line (nothing when there are none)."""
    if not metrics_enabled():
        return
    with _lock:
        recorded = _metrics()
        if recorded.metric_set:
            recorded.flush_metrics()


@contextlib.contextmanager
def invocation(context: Any, correlation_id: str | None = None) -> Iterator[None]:
    """Around one Lambda invocation (or one local request): the log keys, then the metrics."""
    global _cold
    with _lock:
        cold, _cold = _cold, False
    keys: dict[str, Any] = {"cold_start": cold}
    if context is not None:
        keys.update(function_name=getattr(context, "function_name", None),
                    function_request_id=getattr(context, "aws_request_id", None))
    if correlation_id:
        keys["correlation_id"] = correlation_id
    log = logger()
    log.thread_safe_append_keys(**keys)
    try:
        yield
    finally:
        log.thread_safe_remove_keys(keys)
        flush()
