"""Shared fixtures. The environment is set before anything imports the models."""

from __future__ import annotations

import os

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    LAMBDEX_TABLE_PREFIX="test",
    LAMBDEX_DYNAMODB_ENDPOINT="",
    LAMBDEX_ADMIN_TOKEN="test-admin-token",
    LAMBDEX_ALGOD_TOKEN="test-algod-token",
    LAMBDEX_LOG_LEVEL="WARNING",
)

import pytest  # noqa: E402

from tests import support  # noqa: E402


@pytest.fixture
def clock():
    return support.make_clock()


@pytest.fixture
def ledger(clock):
    """A fresh in-process ledger on moto with every table created; Scans are refused."""
    with support.moto_ledger(clock), support.no_scans():
        yield clock


@pytest.fixture
def client(ledger):
    from chalice.test import Client

    import app

    with Client(app.app) as test_client:
        yield test_client
