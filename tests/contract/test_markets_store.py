"""The markets store contract (DynamoDB and in-memory)."""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.ledger import store
from chalicelib.ledger.stores.markets import Market


def market(id: str = "ZRX-WETH", **fields) -> Market:
    base, quote = id.split("-")
    return Market(id, base=base, quote=quote, **fields)


def test_get_returns_what_was_created(backend):
    created = market(number=3, fee="0.001", min_amount=5, name="ZRX/WETH", url="https://x", created_us=7)
    assert backend.markets.create(created) is True
    assert backend.markets.get("ZRX-WETH") == created
    assert backend.markets.get("ZRX-WETH", consistent=True) == created


def test_get_of_an_unknown_or_impossible_id_is_none(backend):
    assert backend.markets.get("NOPE-WETH") is None
    assert backend.markets.get("") is None  # not a DynamoDB key: no request, no error
    assert backend.markets.get("X" * 3000) is None


def test_create_refuses_an_existing_id_and_keeps_the_first(backend):
    first = market(fee="0.001")
    assert backend.markets.create(first)
    assert backend.markets.create(market(fee="0.5")) is False
    assert backend.markets.get(first.id).fee == "0.001"


def test_list_returns_every_market_by_id(backend):
    for id in ("ZRX-WETH", "ABC-WETH", "ZRX-DAI"):
        backend.markets.create(market(id))
    assert [m.id for m in backend.markets.list()] == ["ABC-WETH", "ZRX-DAI", "ZRX-WETH"]
    assert all(isinstance(m, Market) for m in backend.markets.list())


def test_list_of_an_empty_table(backend):
    assert backend.markets.list() == []


def test_markets_are_frozen(backend):
    backend.markets.create(market())
    with pytest.raises(dataclasses.FrozenInstanceError):
        backend.markets.get("ZRX-WETH").fee = "1"


def test_stage_advance_moves_seq_with_the_transaction(backend):
    backend.markets.create(market())
    read = backend.markets.get("ZRX-WETH", consistent=True)
    tx = backend.new_tx()
    backend.markets.stage_advance(tx, read, "3/2")
    assert backend.markets.get("ZRX-WETH", consistent=True).seq == 0  # nothing before the commit
    tx.commit("settle:ZRX-WETH:1", "settle", "ZRX-WETH", 1)
    after = backend.markets.get("ZRX-WETH", consistent=True)
    assert (after.seq, after.last_price) == (1, "3/2")

    tx = backend.new_tx()
    backend.markets.stage_advance(tx, after, None)  # no fill price: the last one stays
    tx.commit("settle:ZRX-WETH:2", "settle", "ZRX-WETH", 2)
    assert backend.markets.get("ZRX-WETH", consistent=True).last_price == "3/2"


def test_stage_advance_from_a_stale_read_fails_and_writes_nothing(backend):
    backend.markets.create(market())
    stale = backend.markets.get("ZRX-WETH", consistent=True)
    winner = backend.new_tx()
    backend.markets.stage_advance(winner, stale, "1/1")
    winner.commit("settle:ZRX-WETH:1", "settle", "ZRX-WETH", 1)

    loser = backend.new_tx()
    backend.markets.stage_advance(loser, stale, "9/1")
    loser.move("alice", "ZRX", available=5)
    with pytest.raises(store.StaleRead):
        loser.commit("settle:ZRX-WETH:1b", "settle", "ZRX-WETH", 2)
    after = backend.markets.get("ZRX-WETH", consistent=True)
    assert (after.seq, after.last_price) == (1, "1/1")


def test_counters_count_from_one_per_name(backend):
    assert [backend.counters.next_id("market") for _ in range(3)] == [1, 2, 3]
    assert backend.counters.next_id("pair") == 1


def test_stage_create_puts_the_market_and_its_pair_guard(backend):
    tx = backend.new_tx()
    backend.markets.stage_create(tx, market(number=1))
    assert backend.markets.market_of_pair("ZRX", "WETH") is None  # nothing before the commit
    tx.commit("market:ZRX-WETH", "market", "ZRX-WETH", 1)
    assert backend.markets.get("ZRX-WETH") == market(number=1)
    assert backend.markets.market_of_pair("ZRX", "WETH") == backend.markets.market_of_pair("WETH", "ZRX") == "ZRX-WETH"
    assert backend.markets.market_of_pair("ZRX", "DAI") is None


def test_stage_create_refuses_the_reverse_and_the_same_id_and_writes_nothing(backend):
    from chalicelib.errors import AlreadyExists

    tx = backend.new_tx()
    backend.markets.stage_create(tx, market())
    tx.commit("market:ZRX-WETH", "market", "ZRX-WETH", 1)
    for attempt in (market("WETH-ZRX"), market(fee="0.5")):
        tx = backend.new_tx()
        backend.markets.stage_create(tx, attempt)
        with pytest.raises(AlreadyExists):
            tx.commit(f"market:{attempt.id}:{attempt.fee}", "market", attempt.id, 2)
    assert [m.id for m in backend.markets.list()] == ["ZRX-WETH"]
    assert backend.markets.get("ZRX-WETH").fee == "0"


def test_failures_are_counted_without_touching_seq_and_cleared(backend):
    backend.markets.create(market(seq=4))
    assert backend.markets.record_failure("ZRX-WETH", "scheduler: fills: RuntimeError: boom") == 1
    assert backend.markets.record_failure("ZRX-WETH", "stream: " + "x" * 2000) == 2
    failing = backend.markets.get("ZRX-WETH", consistent=True)
    assert (failing.failing_passes, failing.seq, len(failing.last_failure)) == (2, 4, 500)
    assert backend.markets.record_failure("NOPE-WETH", "no such market") is None
    assert backend.markets.get("NOPE-WETH") is None  # a failure never creates a market
    backend.markets.clear_failures("ZRX-WETH")
    cleared = backend.markets.get("ZRX-WETH", consistent=True)
    assert (cleared.failing_passes, cleared.last_failure, cleared.seq) == (0, None, 4)
    backend.markets.clear_failures("ZRX-WETH")  # clearing a healthy market is harmless
    backend.markets.clear_failures("NOPE-WETH")
    assert backend.markets.get("NOPE-WETH") is None
