"""Shared fixtures. The environment is set before anything imports the models."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# `environment` (first, alphabetically too) sets the environment before anything imports the models.
from tests import environment, support  # noqa: F401

# No per-example deadline anywhere (hypothesis' default is 200 ms): on a loaded 2-core machine
# one slow example is a scheduling stall, not a finding. Timings belong to bench/.
settings.register_profile("lambdex", deadline=None)
settings.load_profile("lambdex")


@pytest.fixture
def clock():
    return support.make_clock()


BACKEND = os.environ.get("LAMBDEX_TEST_BACKEND", "moto")  # moto | ddblocal: the API tier runs on both


@pytest.fixture(scope="session")
def ddb_endpoint(tmp_path_factory):
    """One DynamoDB Local for the test run (each test gets its own tables)."""
    if support.NO_DYNAMODB_LOCAL and not os.environ.get("CI"):
        pytest.skip(support.NO_DYNAMODB_LOCAL)
    from chalicelib.local.dynamodb_local import LocalDatabase

    with LocalDatabase(tmp_path_factory.mktemp("ddb") / "data", support.free_port(), jar=support.JAR,
                       allow_fallback=False) as database:
        yield database.endpoint_url


@pytest.fixture
def ledger(request, clock):
    """A fresh ledger with every table created, on in-process moto (or on DynamoDB Local
    with LAMBDEX_TEST_BACKEND=ddblocal); Scans are refused."""
    if BACKEND == "ddblocal":
        backend = support.dynamodb_local_ledger(request.getfixturevalue("ddb_endpoint"), clock, fresh=False)
    else:
        backend = support.moto_ledger(clock)
    with backend, support.no_scans():
        yield clock


@pytest.fixture
def ddb_ledger(ddb_endpoint, clock):
    """Always DynamoDB Local: for concurrency, redelivery and end-to-end tests
    (in-process moto loses committed transactional writes under threads)."""
    with support.dynamodb_local_ledger(ddb_endpoint, clock), support.no_scans():
        yield clock


def _chalice_client():
    from chalice.test import Client

    import app
    from chalicelib.local import routing

    routing.install()

    return Client(app.app)


@pytest.fixture
def client(ledger):
    with _chalice_client() as test_client:
        yield test_client


@pytest.fixture
def ddb_client(ddb_ledger):
    with _chalice_client() as test_client:
        yield test_client
