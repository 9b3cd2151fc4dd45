"""Test helpers: ledgers on moto or DynamoDB Local, the Scan guard, fault injection."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator

from botocore.client import BaseClient

from chalicelib.ledger import clock as clock_module
from chalicelib.ledger.clock import FixedClock

GENESIS = 1_735_689_600
ADMIN = {"Authorization": "Bearer test-admin-token", "Content-Type": "application/json"}


def make_clock() -> FixedClock:
    return FixedClock(genesis_time=GENESIS, genesis_block=0, block_seconds=10, current=GENESIS + 3_600.0)


@contextlib.contextmanager
def moto_ledger(clock: FixedClock) -> Iterator[None]:
    import boto3
    from moto import mock_aws

    from chalicelib.ledger.models import configure
    from chalicelib.local.tables import ensure_tables

    with mock_aws():
        configure(endpoint=None, prefix="test")
        ensure_tables(boto3.client("dynamodb", region_name="us-east-1"), prefix="test")
        clock_module.use(clock)
        try:
            yield
        finally:
            clock_module.use(None)


# -- intercepting every DynamoDB call ----------------------------------------------

_original_call = BaseClient._make_api_call
_hooks: list[Callable[[str, dict], None]] = []
_local = threading.local()


def _intercepting_call(self, operation_name, api_params):
    for hook in _hooks.copy():
        hook(operation_name, api_params)
    return _original_call(self, operation_name, api_params)


BaseClient._make_api_call = _intercepting_call


@contextlib.contextmanager
def hook(function: Callable[[str, dict], None]) -> Iterator[None]:
    """Call `function(operation, params)` before every AWS API call (may raise to inject a fault)."""
    _hooks.append(function)
    try:
        yield
    finally:
        _hooks.remove(function)


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
    from chalicelib.ledger.audit import audit

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
