"""The matches store: DynamoDB and in memory agree on ids, the conditional put, the reads by
id, order, address and market, the pending matches due, and the settle of a pending match."""

from __future__ import annotations

import pytest

from chalicelib.ledger import store
from chalicelib.ledger.stores.matches import Match, match_id

MARKET = "ZRX-WETH"


def match(id: str, *, tx0: str = "a", tx1: str = "b", time_us: int = 5, status: str = "completed",
          market: str = MARKET, tx0_address: str = "x", tx1_address: str = "y", expire: int = 30) -> Match:
    return Match(id=id, market=market, tx0_index=1, tx0_hash=tx0, tx0_address=tx0_address, tx1_index=2,
                 tx1_hash=tx1, tx1_address=tx1_address, forward_asset="ZRX", forward_quantity=10,
                 backward_asset="WETH", backward_quantity=4, tx0_block_index=3, tx1_block_index=4, block_index=5,
                 match_expire_index=expire, status=status, time_us=time_us, tx0_expiration=9, tx1_expiration=8,
                 fee_paid=1, fee_asset="ZRX")


def put(backend, *matches: Match, entry: str = "settle") -> None:
    tx = backend.new_tx()
    for m in matches:
        backend.matches.stage_new(tx, m)
    tx.commit(entry, "settle", MARKET, 5)


def test_a_match_is_put_once_and_reads_back_whole(backend):
    first = match(match_id("a", "b", 7, repeat=False))
    put(backend, first)
    with pytest.raises(store.StaleRead):
        put(backend, match(first.id, time_us=99), entry="again")
    assert backend.matches.get(first.id) == first
    assert backend.matches.get("nope") is None and backend.matches.get("") is None
    assert backend.matches.get_many([first.id, "nope"]) == [first]
    assert backend.matches.get_many([]) == []


def test_a_repeat_of_a_pair_has_its_own_id(backend):
    ids = [match_id("a", "b", 7, repeat=False), match_id("a", "b", 8, repeat=True),
           match_id("a", "b", 9, repeat=True)]
    assert len(set(ids)) == 3 and "a_b" in ids and "a_b_8" in ids
    put(backend, *[match(i, time_us=n) for n, i in enumerate(ids)])
    assert [m.id for m in backend.matches.of_order("a")] == ids  # oldest first
    assert [m.id for m in backend.matches.of_order("b")] == ids


def test_reads_by_address_role_time_and_market(backend):
    put(backend, match("m1", time_us=10), match("m2", time_us=20, tx0_address="y", tx1_address="x"),
        match("m3", time_us=30, market="OTHER-X"), match("m4", time_us=40))
    assert [m.id for m in backend.matches.of_address("x", "tx0")] == ["m1", "m3", "m4"]
    assert [m.id for m in backend.matches.of_address("x", "tx0", since_us=30)] == ["m3", "m4"]
    assert [m.id for m in backend.matches.of_address("x", "tx0", newest_first=True, limit=2)] == ["m4", "m3"]
    assert [m.id for m in backend.matches.of_address("x", "tx0", market=MARKET)] == ["m1", "m4"]
    assert [m.id for m in backend.matches.of_address("x", "tx1")] == ["m2"]


def test_reads_by_market_and_time_window(backend):
    put(backend, *[match(f"m{t}", time_us=t) for t in (10, 20, 30, 40)], match("o", market="OTHER-X"))
    assert [m.id for m in backend.matches.of_market(MARKET)] == ["m10", "m20", "m30", "m40"]
    assert [m.id for m in backend.matches.of_market(MARKET, since_us=20)] == ["m20", "m30", "m40"]
    assert [m.id for m in backend.matches.of_market(MARKET, before_us=30)] == ["m10", "m20"]
    assert [m.id for m in backend.matches.of_market(MARKET, since_us=20, before_us=40)] == ["m20", "m30"]
    assert [m.id for m in backend.matches.of_market(MARKET, before_us=30, newest_first=True, limit=1)] == ["m20"]


def test_pending_matches_come_due_and_settle_once(backend):
    put(backend, match("p1", status="pending", expire=25), match("p2", status="pending", expire=35),
        match("done", expire=1))
    due = backend.matches.pending_due(MARKET, 30, limit=10)
    assert [m.id for m in due] == ["p1"]
    tx = backend.new_tx()
    backend.matches.stage_settle(tx, due[0], "expired")
    tx.commit("expire:p1", "expire_match", "p1", 6)
    assert backend.matches.get("p1").status == "expired"
    assert backend.matches.pending_due(MARKET, 40, limit=10) == [backend.matches.get("p2")]
    tx = backend.new_tx()
    backend.matches.stage_settle(tx, due[0], "completed")  # no longer pending
    with pytest.raises(store.StaleRead):
        tx.commit("pay:p1", "settle", "p1", 7)
    assert backend.matches.get("p1").status == "expired"
