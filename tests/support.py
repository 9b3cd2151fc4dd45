"""Test helpers: ledgers on moto or DynamoDB Local, the Scan guard, fault injection."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from botocore.client import BaseClient

from chalicelib.ledger import clock as clock_module
from chalicelib.ledger.clock import FixedClock

GENESIS = 1_735_689_600
ADMIN = {"Authorization": "Bearer test-admin-token", "Content-Type": "application/json"}


def make_clock() -> FixedClock:
    return FixedClock(genesis_time=GENESIS, genesis_block=0, block_seconds=10, current=GENESIS + 3_600.0)


_moto = None


def _moto_tables():
    """One in-process moto for the whole run, its tables created once (creating 15
    tables costs ~0.7 s; emptying them between tests costs a few ms)."""
    global _moto
    import boto3
    from moto import mock_aws

    from chalicelib.local.tables import ensure_tables

    if _moto is None:
        _moto = mock_aws()
        _moto.start()
        ensure_tables(boto3.client("dynamodb", region_name="us-east-1"), prefix="test")
    return boto3.client("dynamodb", region_name="us-east-1")


def _empty_tables(client, prefix: str = "test") -> None:
    from chalicelib.local.tables import table_name, table_resources

    for properties in table_resources().values():
        name = table_name(properties, prefix)
        keys = [k["AttributeName"] for k in client.describe_table(TableName=name)["Table"]["KeySchema"]]
        names = {f"#k{i}": key for i, key in enumerate(keys)}
        pages = client.get_paginator("scan").paginate(
            TableName=name, ProjectionExpression=", ".join(names), ExpressionAttributeNames=names)
        for page in pages:
            for item in page["Items"]:
                client.delete_item(TableName=name, Key={k: item[k] for k in keys})


def _forget_stream_records() -> None:
    """Drop what moto's table streams recorded in earlier tests. The one moto of the run keeps
    every stream record of the session, and each TransactWriteItems deep-copies the tables it
    writes (for its rollback), streams included: left alone, a suite's later transactions copied
    hundreds of MB each (5.7 GB resident by the integration tier)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    for table in dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables.values():
        if table.stream_shard is not None:
            table.stream_shard.items.clear()


# -- DynamoDB Local ----------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def _find_dynamodb_local_jar() -> Path | None:
    from chalicelib.local.dynamodb_local import find_jar

    for root in (ROOT, Path(os.environ.get("LAMBDEX_DDB_LOCAL_ROOT", "/tmp/ddbl"))):
        jar = find_jar(root)
        if jar is not None:
            return jar
    return None


JAR = _find_dynamodb_local_jar()
NO_DYNAMODB_LOCAL = (
    "java is not on PATH" if shutil.which("java") is None
    else "DynamoDB Local jar not found: run `npm ci` (or set LAMBDEX_DDB_LOCAL_ROOT)" if JAR is None
    else ""
)


_ports_given: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now, never one this process handed out before (a stack
    takes three at once and binds them later: the OS may offer a just-released one again)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port


_prefixes = itertools.count()


_reused_prefix: dict[str, str] = {}


@contextlib.contextmanager
def dynamodb_local_ledger(endpoint: str, clock: FixedClock, fresh: bool = True) -> Iterator[None]:
    """An empty ledger on DynamoDB Local: new tables under a new prefix (`fresh`, which
    also gives a new orders stream), or one set of tables emptied before each test."""
    import boto3

    from chalicelib.ledger import cache
    from chalicelib.ledger.models import configure
    from chalicelib.local.tables import ensure_tables

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    if fresh or endpoint not in _reused_prefix:
        prefix = f"it{os.getpid()}x{next(_prefixes)}"
        # No TTL: the test's clock is not the wall clock, and DynamoDB Local deletes items
        # (nonces, connections, feed markers) expired by the wall clock within ~10 s, in the
        # middle of a test. The code never relies on TTL deletion (it checks expiry itself).
        ensure_tables(client, prefix=prefix, ttl=False)
        if not fresh:
            _reused_prefix[endpoint] = prefix
    else:
        prefix = _reused_prefix[endpoint]
        _empty_tables(client, prefix)
    cache.clear()
    configure(endpoint=endpoint, prefix=prefix)
    clock_module.use(clock)
    try:
        yield
    finally:
        clock_module.use(None)
        configure(endpoint=None, prefix="test")


@contextlib.contextmanager
def moto_ledger(clock: FixedClock) -> Iterator[None]:
    from chalicelib.ledger import cache
    from chalicelib.ledger.models import configure

    client = _moto_tables()
    _empty_tables(client)
    _forget_stream_records()
    cache.clear()
    configure(endpoint=None, prefix="test")
    clock_module.use(clock)
    try:
        yield
    finally:
        clock_module.use(None)


# -- intercepting every DynamoDB call ----------------------------------------------

_original_call = BaseClient._make_api_call
_hooks: list[Callable[[str, dict], None]] = []
_after_hooks: list[Callable[[str, dict, dict], None]] = []
_local = threading.local()


def _intercepting_call(self, operation_name, api_params):
    for hook in _hooks.copy():
        hook(operation_name, api_params)
    result = _original_call(self, operation_name, api_params)
    for hook in list(_after_hooks):
        hook(operation_name, api_params, result)
    return result


BaseClient._make_api_call = _intercepting_call


@contextlib.contextmanager
def hook(function: Callable[[str, dict], None]) -> Iterator[None]:
    """Call `function(operation, params)` before every AWS API call (may raise to inject a fault)."""
    _hooks.append(function)
    try:
        yield
    finally:
        _hooks.remove(function)


@contextlib.contextmanager
def after(function: Callable[[str, dict, dict], None]) -> Iterator[None]:
    """Call `function(operation, params, result)` after every call succeeded (may raise:
    the effect happened but the caller sees an error, like a response lost in transit)."""
    _after_hooks.append(function)
    try:
        yield
    finally:
        _after_hooks.remove(function)


def client_error(code: str, operation: str, reasons: list[str] | None = None):
    from botocore.exceptions import ClientError

    response = {"Error": {"Code": code, "Message": f"injected {code}"}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, operation)


class ScanOnRequestPath(AssertionError):
    pass


@contextlib.contextmanager
def no_scans() -> Iterator[None]:
    """Fail any Scan unless it runs inside `allow_scans()` (operator tooling only)."""

    def refuse(operation: str, params: dict) -> None:
        if operation == "Scan" and not getattr(_local, "scans_allowed", False):
            raise ScanOnRequestPath(f"Scan of {params.get('TableName')} on a request path")

    with hook(refuse):
        yield


@contextlib.contextmanager
def allow_scans() -> Iterator[None]:
    _local.scans_allowed = True
    try:
        yield
    finally:
        _local.scans_allowed = False


@contextlib.contextmanager
def count_calls() -> Iterator[list[str]]:
    calls: list[str] = []
    with hook(lambda operation, params: calls.append(operation)):
        yield calls


def audit_ok() -> None:
    """The ledger's invariants hold: the journal replays to the balances, value is conserved."""
    from chalicelib.admin.audit import audit

    with allow_scans():
        report = audit()
    assert report.ok, report.summary()


def table_snapshot() -> dict[str, list]:
    """Every item of every table, to prove a refused request changed nothing."""
    from chalicelib.ledger.models import ALL_MODELS

    with allow_scans():
        return {m.Meta.table_name: sorted(json.dumps(i.to_simple_dict(), sort_keys=True, default=str)
                                           for i in m.scan(consistent_read=True)) for m in ALL_MODELS}


def post(client, path: str, body, headers=None):
    return client.http.post(path, headers=headers or ADMIN, body=json.dumps(body) if not isinstance(
        body, (str, bytes)) else body)


def is_dialect_error(dialect: str, body) -> bool:
    """Is `body` an error in `dialect`'s documented shape (and not Chalice's or API Gateway's)?"""
    if not isinstance(body, dict) or set(body) == {"Code", "Message"}:
        return False
    if dialect == "coinbtr":
        return body.get("success") is False and isinstance(body.get("msg"), dict) and set(body["msg"]) == {
            "error", "code"}
    if dialect == "converter":
        return body.get("error") is True and isinstance(body.get("message"), str)
    if dialect == "relayer":
        error = body.get("error")
        return isinstance(error, dict) and isinstance(error.get("code"), int) and isinstance(error.get("reason"), str)
    if dialect == "algod":
        return set(body) == {"message"} and "Missing Authentication Token" not in body["message"]
    if dialect == "admin":
        error = body.get("error")
        return isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str)
    return set(body) == {"error"} and isinstance(body["error"], str)  # counterparty (and /ui's JSON)


def wait_until_answering(url: str, *, alive: Callable[[], bool] = lambda: True, headers: dict | None = None,
                         deadline: float = 120.0, probe_timeout: float = 30.0) -> float:
    """Wait until `url` answers any HTTP status; the seconds it took. Generous and bounded:
    on a loaded 2-core machine a server's first answer may take seconds, so a slow or
    refused probe is tried again (never fatal) until `deadline`; a dead process is."""
    import time
    import urllib.error
    import urllib.request

    started = time.monotonic()
    last_error: Exception | None = None
    while time.monotonic() - started < deadline:
        if not alive():
            raise AssertionError(f"the server behind {url} exited while starting")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=probe_timeout):
                return time.monotonic() - started
        except urllib.error.HTTPError:
            return time.monotonic() - started  # it answers: a 4xx/5xx is an answer
        except (urllib.error.URLError, OSError) as error:  # refused, reset, or slower than probe_timeout
            last_error = error
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {deadline:.0f} s (last error: {last_error})")
