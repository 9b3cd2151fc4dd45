"""Fixtures of the pure-rule tests (`clock` comes from tests/conftest.py)."""

import pytest

from chalicelib.ledger import stores


@pytest.fixture
def memory():
    """A fresh in-memory ledger: every store of the registry in memory for the test."""
    with stores.using(stores.in_memory()) as chosen:
        yield chosen
