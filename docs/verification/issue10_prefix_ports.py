"""Issue 10's settlement cases ported to the code BEFORE the fix (d50cde8), for docs/verification.md.

Not part of `make test` (it is not under tests/). To reproduce the "fails before" column:

    git worktree add /tmp/old d50cde8
    cp docs/verification/issue10_prefix_ports.py /tmp/old/tests/integration/test_old_liveness.py
    cd /tmp/old && LAMBDEX_DDB_LOCAL_ROOT=<a checkout with node_modules> \
        <this checkout>/.venv/bin/python -m pytest tests/integration/test_old_liveness.py -q --tb=short

Each test is the scenario of its counterpart in tests/integration/test_settlement_liveness.py
(named in the comment above it) with only what the old API cannot express left out.
"""


from __future__ import annotations

import json

import pytest

from chalicelib.events import scheduler
from chalicelib.ledger import orders, settlement
from chalicelib.ledger.models import Order, OrderMatch
from tests import support
from tests.support import audit_ok, post


@pytest.fixture
def ledger(ddb_ledger):
    return ddb_ledger


@pytest.fixture
def client(ddb_client):
    return ddb_client


def body(response):
    return json.loads(response.body)


@pytest.fixture
def zrx_weth(client, ledger):
    assert post(client, "/admin/assets", {"name": "ZRX", "decimals": 0}).status_code == 201
    assert post(client, "/admin/assets", {"name": "WETH", "decimals": 0}).status_code == 201
    assert post(client, "/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH"}).status_code == 201
    return ledger


def fund(client, ledger, *grants):
    for address, coin, quantity in grants:
        assert post(client, "/admin/deposits", {"coin": coin, "txid": f"{coin}-{address}", "address": address,
                                                "quantity": quantity}).status_code == 201
    scheduler.run(ledger)


def sell(ledger, source, amount, price_total, **extra):
    ledger.advance(0.001)
    return orders.place_order(orders.OrderRequest(source, "ZRX", amount, "WETH", price_total, **extra), ledger)[0]


def buy(ledger, source, total, amount, **extra):
    ledger.advance(0.001)
    return orders.place_order(orders.OrderRequest(source, "WETH", total, "ZRX", amount, **extra), ledger)[0]


def transactions():
    seen: list[list[dict]] = []
    return seen, support.hook(lambda op, params: seen.append(params["TransactItems"])
                              if op == "TransactWriteItems" else None)


# item 1 (new: test_a_pair_that_trades_again_after_an_expired_match_gets_a_new_id; left out:
# the new id's exact form, match_id(..., repeat=True), which the old code has no notion of)
def test_item1_a_pair_that_trades_again_after_an_expired_match(client, ledger):
    assert post(client, "/admin/assets", {"name": "XCP", "decimals": 0}).status_code == 201
    assert post(client, "/admin/assets", {"name": "BTC", "decimals": 0, "settlement": "external"}).status_code == 201
    assert post(client, "/admin/markets", {"id": "XCP-BTC", "base": "XCP", "quote": "BTC"}).status_code == 201
    for who in ("y", "z"):
        post(client, "/admin/deposits", {"coin": "XCP", "txid": f"f-{who}", "address": who, "quantity": 1000})
    scheduler.run(ledger)
    place = orders.place_order
    y, _ = place(orders.OrderRequest("y", "XCP", 100, "BTC", 100, expiration=1000), ledger)
    ledger.advance(1)
    z, _ = place(orders.OrderRequest("z", "XCP", 10, "BTC", 5, expiration=1000), ledger)
    ledger.advance(1)
    x, _ = place(orders.OrderRequest("x", "BTC", 20, "XCP", 20, expiration=1000), ledger)
    assert settlement.match_market("XCP-BTC", ledger).fills == 2
    first = f"{y.tx_hash}_{x.tx_hash}"
    assert OrderMatch.get(first).status == "pending"
    post(client, "/admin/deposits", {"coin": "BTC", "txid": "pay-y", "address": "y-btc",
                                     "quantity": int(OrderMatch.get(first).backward_quantity), "match_id": first})
    scheduler.run(ledger)
    assert OrderMatch.get(first).status == "completed"
    ledger.advance(21 * 10)
    scheduler.run(ledger)  # Z_X expires: X re-opens and crosses Y again
    assert OrderMatch.get(f"{z.tx_hash}_{x.tx_hash}").status == "expired"
    report = settlement.match_market("XCP-BTC", ledger)
    assert orders.get_order(x.tx_hash).status == "filled", report  # X bought its 5 more from Y
    post(client, "/admin/deposits", {"coin": "XCP", "txid": "f-w", "address": "w", "quantity": 10})
    scheduler.run(ledger)
    w, _ = place(orders.OrderRequest("w", "XCP", 10, "BTC", 10, expiration=1000), ledger)
    v, _ = place(orders.OrderRequest("v", "BTC", 10, "XCP", 10, expiration=1000), ledger)
    settlement.match_market("XCP-BTC", ledger)
    assert orders.get_order(v.tx_hash).status == "filled"  # the market still settles an honest pair
    audit_ok()


# item 2 (new: test_restricted_orders_on_top_do_not_hide_the_crossing_book; left out: the
# `traders=` hint and the count of items read, settlement.book.stats, both new)
def test_item2_restricted_orders_on_top_do_not_hide_the_crossing_book(client, zrx_weth):
    ledger = zrx_weth
    fund(client, ledger, ("attacker", "ZRX", 10**6), ("attacker", "WETH", 10**6), ("alice", "ZRX", 100),
         ("bob", "WETH", 100))
    for _ in range(201):
        sell(ledger, "attacker", 4, 2, taker="0xunused", dialect="0x")  # asks 0.5
        buy(ledger, "attacker", 3, 4, taker="0xunused", dialect="0x")  # bids 0.75
    honest_ask = sell(ledger, "alice", 10, 6)  # 0.6
    honest_bid = buy(ledger, "bob", 7, 10)  # 0.7
    report = settlement.match_market("ZRX-WETH", ledger)
    assert report.fills == 1
    assert orders.get_order(honest_bid.tx_hash).status == "filled"
    assert orders.get_order(honest_ask.tx_hash).status == "filled"
    audit_ok()


# item 3 (new: test_orders_closed_on_entry_are_counted_within_100_items; unchanged)
def test_item3_orders_closed_on_entry_are_counted_within_100_items(client, zrx_weth):
    ledger = zrx_weth
    fund(client, ledger, ("duster", "ZRX", 10**6), ("alice", "ZRX", 100), ("bob", "WETH", 100))
    dust = [sell(ledger, "duster", 1000, 1) for _ in range(99)]
    for order in dust:
        Order.get("ZRX-WETH", order.tx_hash).update(actions=[Order.give_remaining.set(500)])
    sell(ledger, "alice", 10, 5)
    bid = buy(ledger, "bob", 10, 10)
    seen, capture = transactions()
    with capture:
        settlement.match_market("ZRX-WETH", ledger)
    assert seen and max(len(items) for items in seen) <= 100
    assert orders.get_order(bid.tx_hash).status == "filled"
    assert sum(orders.get_order(o.tx_hash).status == "filled" for o in dust) >= 85


# item 3, the scheduler's consequence: one market whose commit is too big stops the pass
# before any later market is expired or reconciled (new: test_one_oversized_market_does_not_stop_the_scheduler)
def test_item3_one_oversized_market_does_not_stop_the_scheduler(client, zrx_weth):
    ledger = zrx_weth
    assert post(client, "/admin/assets", {"name": "XCP", "decimals": 0}).status_code == 201
    assert post(client, "/admin/markets", {"id": "XCP-WETH", "base": "XCP", "quote": "WETH"}).status_code == 201
    fund(client, ledger, ("duster", "ZRX", 10**6), ("alice", "ZRX", 100), ("bob", "WETH", 100),
         ("carol", "XCP", 100))
    for _ in range(99):
        order = sell(ledger, "duster", 1000, 1)
        Order.get("ZRX-WETH", order.tx_hash).update(actions=[Order.give_remaining.set(500)])
    sell(ledger, "alice", 10, 5)
    buy(ledger, "bob", 10, 10)
    ledger.advance(0.001)
    later, _ = orders.place_order(orders.OrderRequest("carol", "XCP", 10, "WETH", 10, expiration=1), ledger)
    ledger.advance(60)
    scheduler.run(ledger)  # the ZRX-WETH pass is oversized; XCP-WETH's order must still expire
    assert orders.get_order(later.tx_hash).status == "expired"


# item 5 (new: test_placement_survives_conflicts_throttles_and_a_lost_answer; unchanged)
def test_item5_placement_survives_conflicts_throttles_and_a_lost_answer(client, zrx_weth):
    ledger = zrx_weth
    fund(client, ledger, ("alice", "ZRX", 100))
    calls = {"n": 0}

    def faults(operation, params):
        if operation == "TransactWriteItems":
            calls["n"] += 1
            if calls["n"] == 1:
                raise support.client_error("TransactionCanceledException", operation,
                                           ["None", "TransactionConflict", "None"])
            if calls["n"] == 2:
                raise support.client_error("ThrottlingException", operation)

    def lose(operation, params, result):
        if operation == "TransactWriteItems" and calls["n"] == 3:
            raise support.client_error("InternalServerError", operation)

    with support.hook(faults), support.after(lose):
        placed = sell(ledger, "alice", 10, 5, tx_hash="ab" * 32)
    assert calls["n"] == 4 and placed.tx_hash == "ab" * 32
    rows = {r["asset"]: r["quantity"] for r in body(client.http.get("/addresses/alice/balances"))}
    assert rows["ZRX"] == 90
    audit_ok()


# item 5 over HTTP (new: test_placement_under_lasting_contention_is_busy_not_a_500; left out:
# the Busy exception of place_order, new; no "public" on /admin/apikeys, new)
def test_item5_placement_under_lasting_contention_is_not_a_500(client, zrx_weth):
    ledger = zrx_weth
    key = body(post(client, "/admin/apikeys", {"account": "alice", "scopes": ["read", "trade"]}))["key"]
    fund(client, ledger, ("alice", "ZRX", 100))

    def conflict(operation, params):
        if operation == "TransactWriteItems":
            raise support.client_error("TransactionCanceledException", operation,
                                       ["None", "TransactionConflict", "None"])

    with support.hook(conflict):
        response = client.http.post("/api/v1/trading/place/selllimit",
                                    headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
                                    body=json.dumps({"market": "ZRX-WETH", "price": "0.5", "amount": "4"}))
    assert response.status_code == 503, response.body
    assert body(response)["success"] is False
    audit_ok()


# item 10, `expired_with` (new: test_an_order_stops_reopening_after_max_expired_matches;
# MAX_EXPIRED_WITH is new: its value, 32, written out)
def test_item10_an_order_stops_reopening_after_max_expired_matches(client, ledger):
    assert post(client, "/admin/assets", {"name": "XCP", "decimals": 0}).status_code == 201
    assert post(client, "/admin/assets", {"name": "BTC", "decimals": 0, "settlement": "external"}).status_code == 201
    assert post(client, "/admin/markets", {"id": "XCP-BTC", "base": "XCP", "quote": "BTC"}).status_code == 201
    post(client, "/admin/deposits", {"coin": "XCP", "txid": "f", "address": "seller", "quantity": 100})
    scheduler.run(ledger)
    sold, _ = orders.place_order(orders.OrderRequest("seller", "XCP", 100, "BTC", 100, expiration=1000), ledger)
    earlier = {f"{i:064x}" for i in range(32 - 1)}
    Order.get("XCP-BTC", sold.tx_hash).update(actions=[Order.expired_with.set(earlier)])
    ledger.advance(1)
    orders.place_order(orders.OrderRequest("buyer", "BTC", 100, "XCP", 100, expiration=1000), ledger)
    assert settlement.match_market("XCP-BTC", ledger).fills == 1
    ledger.advance(21 * 10)
    scheduler.run(ledger)
    after = Order.get("XCP-BTC", sold.tx_hash, consistent_read=True)
    assert after.status == "expired" and after.book_key is None
    assert len(after.expired_with) == 32


# item 3, the sweep (new: test_a_sweep_of_many_makers_is_split_at_100_items; unchanged)
def test_item3_a_sweep_of_many_makers_is_split_at_100_items(client, zrx_weth):
    ledger = zrx_weth
    makers = [f"maker{i:02d}" for i in range(40)]
    fund(client, ledger, *[(maker, "ZRX", 10) for maker in makers], ("taker", "WETH", 10**4))
    for maker in makers:
        sell(ledger, maker, 10, 10)
    buy(ledger, "taker", 400, 400)
    seen, capture = transactions()
    with capture:
        report = settlement.match_market("ZRX-WETH", ledger)
    assert report.fills == 40 and report.transactions >= 2
    sizes = [len(items) for items in seen]
    assert max(sizes) <= 100 and max(sizes) >= 100 - 4, sizes
    audit_ok()
