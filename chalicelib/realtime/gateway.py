"""Posting to WebSocket connections: API Gateway's Management API, or the local server.

The Lambda code calls `gateway.current(endpoint)` and `fan_out`; in AWS that is a
`post_to_connection` client for the API's endpoint, locally the runner installs its own
WebSocket server (`install`). A slow or failing connection never holds up the others:
each connection's messages go out on a worker thread of their own (in order), with short
timeouts and no retries, and a connection that is gone (410) is reported for pruning.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib import settings

log = logging.getLogger("lambdex.realtime")

MAX_WORKERS = 32


class Gone(Exception):
    """The connection is closed (API Gateway's 410 GoneException)."""


class Gateway(Protocol):
    def post(self, connection_id: str, data: bytes) -> None: ...


class ManagementApi:
    """API Gateway's Management API of one WebSocket API stage."""

    def __init__(self, endpoint: str):
        import botocore.session
        from botocore.config import Config

        self.endpoint = endpoint
        self.client = botocore.session.get_session().create_client(
            "apigatewaymanagementapi", region_name=settings.region(), endpoint_url=endpoint,
            config=Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 1, "mode": "standard"},
                          max_pool_connections=MAX_WORKERS, tcp_keepalive=True))

    def post(self, connection_id: str, data: bytes) -> None:
        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=data)
        except self.client.exceptions.GoneException as error:
            raise Gone(connection_id) from error


_installed: Gateway | None = None
_apis: dict[str, ManagementApi] = {}
_lock = threading.Lock()


def install(gateway: Gateway | None) -> None:
    """Use `gateway` for every post (the local runner's WebSocket server); None undoes it."""
    global _installed
    _installed = gateway


def current(endpoint: str | None = None) -> Gateway:
    """The installed gateway, else the Management API of `endpoint` (a handler knows it from
    its event) or of LAMBDEX_WS_ENDPOINT (the publisher: set by the deployment)."""
    if _installed is not None:
        return _installed
    endpoint = endpoint or settings.get("LAMBDEX_WS_ENDPOINT")
    if not endpoint:
        raise RuntimeError("LAMBDEX_WS_ENDPOINT is not set and no local WebSocket server is installed")
    with _lock:
        if endpoint not in _apis:
            _apis[endpoint] = ManagementApi(endpoint)
        return _apis[endpoint]


@dataclass
class FanOut:
    sent: int = 0
    failed: int = 0
    gone: list[str] = field(default_factory=list)


_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="fan-out")
        return _executor


def run_all(calls: list) -> list:
    """Call each of `calls` (no arguments) on the worker pool; their results in order."""
    if len(calls) <= 1:
        return [call() for call in calls]
    return list(_reader_pool().map(lambda call: call(), calls))


_readers: ThreadPoolExecutor | None = None


def _reader_pool() -> ThreadPoolExecutor:
    # Apart from the senders' pool: a read never waits behind a slow connection's posts.
    global _readers
    with _lock:
        if _readers is None:
            _readers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fan-out-read")
        return _readers


def _send_all(gateway: Gateway, connection_id: str, messages: list[bytes]) -> tuple[int, bool, bool]:
    """(sent, gone, failed) for one connection; its messages in order, stopping at the first failure."""
    sent = 0
    for data in messages:
        try:
            gateway.post(connection_id, data)
        except Gone:
            return sent, True, False
        except Exception:  # noqa: BLE001 - one connection's failure is logged, never the batch's
            log.warning("post failed", exc_info=True, extra={"connection": connection_id})
            return sent, False, True
        sent += 1
    return sent, False, False


def fan_out(gateway: Gateway, deliveries: Iterable[tuple[str, list[bytes]]]) -> FanOut:
    """Send each connection its messages (in order); connections in parallel."""
    work = [(c, m) for c, m in deliveries if m]
    report = FanOut()
    if not work:
        return report
    if len(work) == 1:
        results = [_send_all(gateway, *work[0])]
    else:
        results = list(_pool().map(lambda item: _send_all(gateway, *item), work))
    for (connection_id, _), (sent, gone, failed) in zip(work, results, strict=True):
        report.sent += sent
        report.failed += failed
        if gone:
            report.gone.append(connection_id)
    return report
