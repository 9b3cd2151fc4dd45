"""The balances store contract (DynamoDB and in-memory), with the transaction that writes them."""

from __future__ import annotations

import pytest

from chalicelib.errors import InsufficientFunds
from chalicelib.ledger import store
from chalicelib.ledger.stores.balances import Balance


def move(backend, entry: str, *moves: tuple[str, str, int, int]) -> None:
    tx = backend.new_tx()
    for address, asset, available, locked in moves:
        tx.move(address, asset, available=available, locked=locked)
    tx.commit(entry, "test", entry, 1)


def test_a_balance_never_held_is_none(backend):
    assert backend.balances.get("alice", "ZRX") is None
    assert backend.balances.get("", "ZRX") is None
    assert backend.balances.of("alice") == []
    assert backend.balances.holders("ZRX", limit=10) == []


def test_moves_are_read_back(backend):
    move(backend, "a", ("alice", "ZRX", 10, 0), ("bob", "ZRX", 3, 0), ("alice", "WETH", 1, 0))
    move(backend, "b", ("alice", "ZRX", -4, 4))
    assert backend.balances.get("alice", "ZRX", consistent=True) == Balance("alice", "ZRX", 6, 4)
    assert backend.balances.of("alice") == [Balance("alice", "WETH", 1, 0), Balance("alice", "ZRX", 6, 4)]


def test_holders_are_by_address_and_paged(backend):
    move(backend, "a", *[(name, "ZRX", 1, 0) for name in ("dave", "alice", "carol", "bob")], ("erin", "WETH", 1, 0))
    assert [b.address for b in backend.balances.holders("ZRX", limit=10)] == ["alice", "bob", "carol", "dave"]
    assert [b.address for b in backend.balances.holders("ZRX", limit=2, offset=1)] == ["bob", "carol"]
    assert backend.balances.holders("ZRX", limit=2, offset=9) == []


def test_a_debit_beyond_the_balance_fails_and_writes_nothing(backend):
    move(backend, "a", ("alice", "ZRX", 5, 0))
    with pytest.raises(InsufficientFunds):
        move(backend, "b", ("alice", "ZRX", -6, 6), ("bob", "ZRX", 100, 0))
    with pytest.raises(InsufficientFunds):
        move(backend, "c", ("alice", "ZRX", 0, -1))
    assert backend.balances.get("alice", "ZRX", consistent=True) == Balance("alice", "ZRX", 5, 0)
    assert backend.balances.get("bob", "ZRX", consistent=True) is None


def test_a_journal_entry_applies_once(backend):
    move(backend, "deposit:1", ("alice", "ZRX", 5, 0))
    with pytest.raises(store.AlreadyApplied):
        move(backend, "deposit:1", ("alice", "ZRX", 5, 0))
    assert backend.balances.get("alice", "ZRX", consistent=True).available == 5


def test_moves_of_one_balance_are_merged(backend):
    move(backend, "a", ("alice", "ZRX", 5, 0), ("alice", "ZRX", -5, 5), ("alice", "ZRX", 1, 0))
    assert backend.balances.get("alice", "ZRX", consistent=True) == Balance("alice", "ZRX", 1, 5)
