"""DynamoDB Local for the tiers that judge concurrency, redelivery and the whole flow
(in-process moto loses committed transactional writes under threads)."""

from __future__ import annotations

import itertools
import os

import pytest

from tests import support
from tests.integration.test_local_stack import JAR, SKIP_REASON, free_port

_prefixes = itertools.count()


@pytest.fixture(scope="session")
def ddb_endpoint(tmp_path_factory):
    if SKIP_REASON and not os.environ.get("CI"):
        pytest.skip(SKIP_REASON)
    from chalicelib.local.dynamodb_local import LocalDatabase

    with LocalDatabase(tmp_path_factory.mktemp("ddb") / "data", free_port(), jar=JAR,
                       allow_fallback=False) as database:
        yield database.endpoint_url


@pytest.fixture
def ddb_ledger(ddb_endpoint, clock):
    """Like `ledger`, on DynamoDB Local: fresh tables under a new prefix for each test."""
    import boto3

    from chalicelib.ledger import cache
    from chalicelib.ledger import clock as clock_module
    from chalicelib.ledger.models import configure
    from chalicelib.local.tables import ensure_tables

    prefix = f"it{os.getpid()}x{next(_prefixes)}"
    client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name="us-east-1")
    ensure_tables(client, prefix=prefix)
    cache.clear()
    configure(endpoint=ddb_endpoint, prefix=prefix)
    clock_module.use(clock)
    try:
        with support.no_scans():
            yield clock
    finally:
        clock_module.use(None)
        configure(endpoint=None, prefix="test")


@pytest.fixture
def ddb_client(ddb_ledger):
    from chalice.test import Client

    import app

    with Client(app.app) as test_client:
        yield test_client
