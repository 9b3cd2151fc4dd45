"""The deposits store contract (DynamoDB and in-memory): one record per transfer, the
scheduler's due queue with its back-off, status changes conditional on the status read."""

from __future__ import annotations

import pytest

from chalicelib.errors import Conflict
from chalicelib.ledger import store
from chalicelib.ledger.stores.deposits import Deposit, deposit_key


def deposit(txid: str, number: int, created_us: int, **fields) -> Deposit:
    values = dict(coin="LTC", txid=txid, quantity=5, created_us=created_us, address="Labc",
                  status="new", pending_status="new", due_us=created_us)
    values.update(fields)
    return Deposit(deposit_key(values["coin"], txid, 0), number, **values)


def test_a_transfer_is_recorded_once(backend):
    first = deposit("t1", 1, 10)
    assert backend.deposits.create(first)
    assert backend.deposits.create(deposit("t1", 2, 11, quantity=9)) is False
    assert backend.deposits.get(first.key) == first
    assert backend.deposits.get("LTC#nope#0") is None
    assert backend.deposits.get("") is None


def test_the_due_queue_is_soonest_first_and_skips_deferred_and_finished_ones(backend):
    for number, txid in enumerate(("a", "b", "c", "d"), start=1):
        backend.deposits.create(deposit(txid, number, 100 + number))
    assert [d.txid for d in backend.deposits.due(1_000, limit=10)] == ["a", "b", "c", "d"]
    assert [d.txid for d in backend.deposits.due(102, limit=10)] == ["a", "b"]  # not yet due: not read
    assert [d.txid for d in backend.deposits.due(1_000, limit=2)] == ["a", "b"]
    assert backend.deposits.defer("LTC#a#0", 1, 500)
    assert [d.txid for d in backend.deposits.due(499, limit=10)] == ["b", "c", "d"]
    assert [d.txid for d in backend.deposits.due(500, limit=10)] == ["b", "c", "d", "a"]
    assert backend.deposits.get("LTC#a#0").attempts == 1
    assert backend.deposits.change("LTC#b#0", "new", {"status": "credited", "owner": "bob", "pending_status": None})
    assert [d.txid for d in backend.deposits.due(1_000, limit=10)] == ["c", "d", "a"]
    assert backend.deposits.defer("LTC#b#0", 1, 5) is False  # no longer new: never queued again
    assert [d.txid for d in backend.deposits.pending("new", limit=10)] == ["c", "d", "a"]


def test_a_higher_confirmation_count_makes_a_deposit_due_at_once(backend):
    backend.deposits.create(deposit("w", 1, 100, confirmations=0))
    backend.deposits.defer("LTC#w#0", 3, 10_000)
    assert backend.deposits.due(200, limit=10) == []
    assert backend.deposits.raise_confirmations("LTC#w#0", 2, 200)
    assert backend.deposits.raise_confirmations("LTC#w#0", 1, 300) is False  # never lower
    assert backend.deposits.raise_confirmations("LTC#nope#0", 9, 300) is False
    found = backend.deposits.due(200, limit=10)
    assert [(d.txid, d.confirmations, d.due_us) for d in found] == [("w", 2, 200)]


def test_a_change_is_conditional_on_the_status_read(backend):
    backend.deposits.create(deposit("x", 1, 100))
    assert backend.deposits.change("LTC#x#0", "mapped", {"status": "conv"}) is False
    assert backend.deposits.change("LTC#nope#0", "new", {"status": "inv"}) is False
    assert backend.deposits.change("LTC#x#0", "new", {"status": "inv", "error": "why", "pending_status": None})
    got = backend.deposits.get("LTC#x#0")
    assert (got.status, got.error, got.pending_status) == ("inv", "why", None)
    with pytest.raises(ValueError):
        backend.deposits.change("LTC#x#0", "inv", {"colour": "red"})


def test_a_staged_change_commits_with_the_credit_or_not_at_all(backend):
    backend.deposits.create(deposit("y", 1, 100))
    tx = backend.new_tx()
    backend.deposits.stage_change(tx, "LTC#y#0", "new", {"status": "credited", "owner": "alice",
                                                        "pending_status": None})
    tx.move("alice", "LTC", available=5)
    tx.commit("deposit:LTC#y#0", "deposit", "LTC#y#0", 1)
    assert backend.deposits.get("LTC#y#0").status == "credited"
    assert backend.balances.get("alice", "LTC", consistent=True).available == 5
    again = backend.new_tx()  # a concurrent pass that read it `new`
    backend.deposits.stage_change(again, "LTC#y#0", "new", {"status": "credited", "owner": "alice"},
                                  on_fail=Conflict("changed meanwhile"))
    again.move("alice", "LTC", available=5)
    with pytest.raises(Conflict):
        again.commit("other:1", "deposit", "LTC#y#0", 2)
    assert backend.balances.get("alice", "LTC", consistent=True).available == 5  # nothing of it applied
    redelivered = backend.new_tx()
    backend.deposits.stage_change(redelivered, "LTC#y#0", "credited", {"owner": "alice"})
    with pytest.raises(store.AlreadyApplied):
        redelivered.commit("deposit:LTC#y#0", "deposit", "LTC#y#0", 3)


def test_owner_id_and_filter_lookups(backend):
    backend.deposits.create(deposit("p", 1, 100, address="L1", owner="alice", status="credited",
                                    pending_status=None))
    backend.deposits.create(deposit("q", 2, 200, address="L2", owner="alice", memo="m"))
    backend.deposits.create(deposit("r", 3, 300, address="L1"))
    assert [d.txid for d in backend.deposits.of_owner("alice", limit=10)] == ["q", "p"]  # newest first
    assert [d.txid for d in backend.deposits.of_owner("alice", limit=1)] == ["q"]
    assert backend.deposits.by_id(3).txid == "r"
    assert backend.deposits.by_id(4) is None
    assert [d.txid for d in backend.deposits.listing(None, "", limit=10)] == ["p", "q", "r"]
    assert [d.txid for d in backend.deposits.listing("address", "L1", limit=10)] == ["p", "r"]
    assert [d.txid for d in backend.deposits.listing("memo", "m", limit=10)] == ["q"]
    assert [d.txid for d in backend.deposits.listing(None, "", limit=2)] == ["p", "q"]
    assert backend.deposits.listing("txid", "nope", limit=10) == []
