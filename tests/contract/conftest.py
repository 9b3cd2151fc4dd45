"""Contract tests: every store's DynamoDB and in-memory implementations pass the same tests.

`backend` runs a test twice: on a fresh in-memory ledger, and on DynamoDB (in-process
moto, or DynamoDB Local with LAMBDEX_TEST_BACKEND=ddblocal, through the `ledger`
fixture). Tests reach the stores through the registry (`stores.markets()`, ...).
"""

from __future__ import annotations

import pytest

from chalicelib.ledger import stores


@pytest.fixture(params=["memory", "dynamodb"])
def backend(request) -> stores.Stores:
    if request.param == "memory":
        chosen = stores.in_memory()
    else:
        request.getfixturevalue("ledger")  # empty tables, the Scan guard
        chosen = stores.dynamodb()
    with stores.using(chosen):
        yield chosen
