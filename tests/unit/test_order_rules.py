"""The order rules on in-memory stores (no database): placement, cancel, expiry, settlement
and an unpaid external match, what each refuses, that a refusal writes nothing, and (a
hypothesis property) that any mix of orders, cancels and settlements leaves the ledger
audited: the journal replays to the balances, value is conserved, no balance is negative,
the fills agree with the orders and the book is not crossed."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.admin.audit import MATCH_FIELDS, ORDER_FIELDS
from chalicelib.errors import Conflict, Forbidden, InsufficientFunds, InvalidInput, NotFound
from chalicelib.ledger import assets, balances, external, markets, orders, settlement, stores
from chalicelib.ledger.assets import Asset
from chalicelib.ledger.audit import check
from chalicelib.ledger.orders import OrderRequest
from chalicelib.ledger.stores.orders import as_entry
from tests import support

MARKET = "ZRX-WETH"
SUPPLY = 10**9
ACCOUNTS = ("alice", "bob", "carol")


def open_market(clock, fee: Fraction = Fraction(0)) -> None:
    assets.create_asset(Asset("ZRX", issuer="alice", supply=SUPPLY), clock)
    assets.create_asset(Asset("WETH", issuer="bob", supply=SUPPLY), clock)
    markets.create_market(MARKET, "ZRX", "WETH", fee, clock)


@pytest.fixture
def market(memory, clock):
    open_market(clock)


def sell(source: str, zrx: int, weth: int, **fields) -> OrderRequest:
    return OrderRequest(source, "ZRX", zrx, "WETH", weth, **fields)


def buy(source: str, zrx: int, weth: int, **fields) -> OrderRequest:
    return OrderRequest(source, "WETH", weth, "ZRX", zrx, **fields)


def held(account: str, asset: str) -> tuple[int, int]:
    found = balances.get_balance(account, asset)
    return (found.available, found.locked) if found else (0, 0)


def audit(memory, now: float):
    ledger = memory.new_tx().ledger
    with ledger.lock:
        entries = list(ledger.journal.values())
        rows = [{"address": a, "asset": s, "available": r.available, "locked": r.locked}
                for (a, s), r in ledger.balances.items()]
    found = [{name: getattr(o, name) for name in ORDER_FIELDS} for o in memory.orders.every(100)]
    fills = [{name: getattr(m, name) for name in MATCH_FIELDS} for m in memory.matches.every(100)]
    return check(entries, rows, orders=found, matches=fills, now=now)


def test_placing_locks_the_give_side_and_opens_the_order(memory, market, clock):
    order, created = orders.place_order(sell("alice", 100, 50), clock)
    assert created and order.status == "open" and order.side == "sell" and order.market == MARKET
    assert held("alice", "ZRX") == (SUPPLY - 100, 100)
    assert memory.orders.side(MARKET, "S", limit=10).entries == [as_entry(order)]
    assert orders.get_order(order.tx_hash) == order
    assert memory.new_tx().ledger.journal[f"place:{order.tx_hash}"]["postings"] == [
        {"address": "alice", "asset": "ZRX", "available": -100, "locked": 100}]
    again, created = orders.place_order(sell("alice", 100, 50, tx_hash=order.tx_hash), clock)
    assert (again, created) == (order, False)
    with pytest.raises(Conflict):
        orders.place_order(sell("alice", 100, 51, tx_hash=order.tx_hash), clock)
    assert held("alice", "ZRX") == (SUPPLY - 100, 100)
    assert audit(memory, clock.now()).ok


@pytest.mark.parametrize("request_, error", [
    (OrderRequest("alice", "ZRX", 10, "ZRX", 5), InvalidInput),  # one asset
    (OrderRequest("alice", "ZRX", 10, "LTC", 5), NotFound),  # no such asset
    (sell("alice", SUPPLY + 1, 5), InsufficientFunds),
    (sell("carol", 10, 5), InsufficientFunds),  # holds nothing
    (sell("alice", 10, 5, cap="all"), InvalidInput),
    (sell("alice", 10, 5, market="WETH-ZRX"), InvalidInput),
])
def test_a_refused_order_writes_nothing(memory, market, clock, request_, error):
    journal = dict(memory.new_tx().ledger.journal)
    with pytest.raises(error):
        orders.place_order(request_, clock)
    assert memory.new_tx().ledger.journal == journal
    assert list(memory.orders.every(100)) == []
    assert held("alice", "ZRX") == (SUPPLY, 0)


def test_only_the_owner_cancels_and_only_once(memory, market, clock):
    order, _ = orders.place_order(sell("alice", 100, 50), clock)
    with pytest.raises(Forbidden):
        orders.cancel_order(order.tx_hash, "bob", clock)
    cancelled = orders.cancel_order(order.tx_hash, "alice", clock)
    assert (cancelled.status, cancelled.book_key) == ("cancelled", None)
    assert orders.get_order(order.tx_hash) == cancelled
    assert held("alice", "ZRX") == (SUPPLY, 0)
    assert memory.orders.side(MARKET, "S", limit=10).entries == []
    with pytest.raises(InvalidInput):
        orders.cancel_order(order.tx_hash, "alice", clock)
    assert audit(memory, clock.now()).ok


def test_an_order_past_its_expiry_is_expired_and_unlocked(memory, market, clock):
    short, _ = orders.place_order(sell("alice", 100, 50, expiration=1), clock)
    orders.place_order(sell("alice", 100, 60), clock)
    assert orders.expire_due_orders(MARKET, clock) == 0
    clock.advance(20)
    assert orders.expire_due_orders(MARKET, clock) == 1
    assert orders.get_order(short.tx_hash).status == "expired"
    assert held("alice", "ZRX") == (SUPPLY - 100, 100)
    assert audit(memory, clock.now()).ok


def test_crossing_orders_settle_at_the_makers_price(memory, market, clock):
    ask, _ = orders.place_order(sell("alice", 100, 50), clock)
    bid, _ = orders.place_order(buy("bob", 100, 60), clock)
    report = settlement.match_market(MARKET, clock)
    assert (report.fills, report.transactions) == (1, 1)
    assert held("alice", "ZRX") == (SUPPLY - 100, 0) and held("alice", "WETH") == (50, 0)
    assert held("bob", "ZRX") == (100, 0) and held("bob", "WETH") == (SUPPLY - 50, 0)  # 10 refunded
    (fill,) = stores.matches().of_order(ask.tx_hash)
    assert (fill.tx0_hash, fill.tx1_hash, fill.forward_quantity, fill.backward_quantity, fill.status) == (
        ask.tx_hash, bid.tx_hash, 100, 50, "completed")
    assert {orders.get_order(h).status for h in (ask.tx_hash, bid.tx_hash)} == {"filled"}
    assert memory.markets.get(MARKET).seq == 1
    assert settlement.match_market(MARKET, clock).fills == 0  # nothing left to do
    assert audit(memory, clock.now()).ok


def test_an_unpaid_external_match_expires_and_both_orders_reopen(memory, clock):
    assets.create_asset(Asset("XCP", issuer="alice", supply=SUPPLY), clock)
    assets.create_asset(Asset("BTC", settlement="external"), clock)
    markets.create_market("XCP-BTC", "XCP", "BTC", Fraction(0), clock)
    ask, _ = orders.place_order(OrderRequest("alice", "XCP", 100, "BTC", 50), clock)
    bid, _ = orders.place_order(OrderRequest("bob", "BTC", 50, "XCP", 100), clock)  # nothing escrowed
    assert settlement.match_market("XCP-BTC", clock).fills == 1
    (pending,) = stores.matches().of_order(ask.tx_hash)
    assert pending.status == "pending" and held("alice", "XCP") == (SUPPLY - 100, 100)
    assert external.expire_pending_matches("XCP-BTC", clock) == 0
    clock.advance(10 * (settlement.MATCH_EXPIRE_BLOCKS + 1))
    assert external.expire_pending_matches("XCP-BTC", clock) == 1
    assert stores.matches().get(pending.id).status == "expired"
    for placed, other in ((ask, bid), (bid, ask)):
        back = orders.get_order(placed.tx_hash)
        assert (back.status, back.give_remaining, back.get_remaining) == ("open", placed.give_quantity,
                                                                            placed.get_quantity)
        assert back.book_key == placed.book_key and back.expired_with == {other.tx_hash}
    assert held("alice", "XCP") == (SUPPLY - 100, 100)  # still escrowed by the re-opened order
    assert settlement.match_market("XCP-BTC", clock).fills == 0  # the pair never trades again
    assert audit(memory, clock.now()).ok


step = st.one_of(
    st.tuples(st.just("sell"), st.sampled_from(ACCOUNTS), st.integers(1, 500), st.integers(1, 500)),
    st.tuples(st.just("buy"), st.sampled_from(ACCOUNTS), st.integers(1, 500), st.integers(1, 500)),
    st.tuples(st.just("cancel"), st.sampled_from(ACCOUNTS), st.integers(0, 30), st.just(0)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(step, min_size=1, max_size=30), st.sampled_from([Fraction(0), Fraction(1, 100)]))
def test_any_orders_cancels_and_settlements_leave_the_ledger_audited(steps, fee):
    clock = support.make_clock()
    with stores.using(stores.in_memory()) as memory:
        open_market(clock, fee)
        for account in ACCOUNTS:  # everyone holds both assets
            tx = memory.new_tx()
            for issuer, asset in (("alice", "ZRX"), ("bob", "WETH")):
                if account != issuer:
                    tx.move(issuer, asset, available=-10**6)
                    tx.move(account, asset, available=10**6)
            tx.commit(f"fund:{account}", "transfer", account, clock.now_us())
        placed: list[str] = []
        for kind, who, a, b in steps:
            clock.advance(1)
            if kind == "cancel":
                if placed:
                    tx_hash = placed[a % len(placed)]
                    try:
                        orders.cancel_order(tx_hash, who, clock)
                    except (Forbidden, InvalidInput):  # not theirs, or no longer open
                        pass
                continue
            order, _ = orders.place_order((sell if kind == "sell" else buy)(who, a, b), clock)
            placed.append(order.tx_hash)
            settlement.match_market(MARKET, clock)
            report = audit(memory, clock.now())
            assert report.ok, report.summary()
        for row in memory.new_tx().ledger.balances.values():
            assert row.available >= 0 and row.locked >= 0
        locked = {o.give_asset: 0 for o in memory.orders.every(100)}
        for o in memory.orders.every(100):
            if o.status == "open":
                locked[o.give_asset] += o.give_remaining
        for asset, amount in locked.items():  # what is locked is exactly what open orders still give
            assert sum(r.locked for (_, s), r in memory.new_tx().ledger.balances.items() if s == asset) == amount


def test_orders_are_frozen_domain_values(memory, market, clock):
    order, _ = orders.place_order(sell("alice", 100, 50), clock)
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.status = "filled"  # type: ignore[misc]
