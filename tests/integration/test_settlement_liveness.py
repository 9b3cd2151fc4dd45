"""Every market settles whatever sits in it (issue 10, items 1-3 and the `expired_with` bound):
a pair that trades again gets a new match id, restricted orders on top do not hide the
book, every settling transaction stays within DynamoDB's item and byte limits, and
placement survives conflicts and throttles without a 500. On DynamoDB Local: in-process
moto copies every table on each transaction, which makes books of hundreds of orders slow."""

from __future__ import annotations

import json

import pytest

from chalicelib.errors import Busy
from chalicelib.events import scheduler
from chalicelib.ledger import external, orders, settlement, store
from chalicelib.ledger.models import Order, OrderMatch
from chalicelib.ledger.stores.matches import match_id
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
    """Deposit (address, coin, quantity) for each grant, then credit them in one pass."""
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
    """Capture every TransactWriteItems request."""
    seen: list[list[dict]] = []
    return seen, support.hook(lambda op, params: seen.append(params["TransactItems"])
                              if op == "TransactWriteItems" else None)


# -- 1. a pair that trades twice ------------------------------------------------------------

def test_a_pair_that_trades_again_after_an_expired_match_gets_a_new_id(client, ledger):
    """X buys from Z (cheaper) and Y, all pending (BTC is paid outside); Y_X is paid, Z_X
    expires: X re-opens with 10 and crosses Y again. Today the id Y_X comes back and the
    market never settles again."""
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
    scheduler.run(ledger)  # Z_X expires: X re-opens; the reconciler settles X against Y again
    assert OrderMatch.get(f"{z.tx_hash}_{x.tx_hash}").status == "expired"
    seq = int(settlement.get_market("XCP-BTC", consistent=True).seq)
    again = match_id(y.tx_hash, x.tx_hash, seq, repeat=True)
    assert again == f"{y.tx_hash}_{x.tx_hash}_{seq}"
    # X gave 5 BTC to Z and 15 to Y (give-capped, at the makers' prices); it gets the 5 back
    # and buys 5 more XCP from Y at 1.
    assert (OrderMatch.get(again).forward_quantity, OrderMatch.get(again).status) == (5, "pending")
    assert orders.get_order(x.tx_hash).status == "filled"
    # The market still settles: an honest pair placed now trades at once.
    post(client, "/admin/deposits", {"coin": "XCP", "txid": "f-w", "address": "w", "quantity": 10})
    scheduler.run(ledger)
    w, _ = place(orders.OrderRequest("w", "XCP", 10, "BTC", 10, expiration=1000), ledger)
    v, _ = place(orders.OrderRequest("v", "BTC", 10, "XCP", 10, expiration=1000), ledger)
    assert settlement.match_market("XCP-BTC", ledger).fills >= 1
    assert orders.get_order(v.tx_hash).status == "filled"
    audit_ok()


def test_an_order_stops_reopening_after_max_expired_matches(client, ledger):
    """`expired_with` grows by one per unpaid expiry; at MAX_EXPIRED_WITH the order closes
    (escrow returned) instead of re-opening, so the item stays small."""
    assert post(client, "/admin/assets", {"name": "XCP", "decimals": 0}).status_code == 201
    assert post(client, "/admin/assets", {"name": "BTC", "decimals": 0, "settlement": "external"}).status_code == 201
    assert post(client, "/admin/markets", {"id": "XCP-BTC", "base": "XCP", "quote": "BTC"}).status_code == 201
    post(client, "/admin/deposits", {"coin": "XCP", "txid": "f", "address": "seller", "quantity": 100})
    scheduler.run(ledger)
    sold, _ = orders.place_order(orders.OrderRequest("seller", "XCP", 100, "BTC", 100, expiration=1000), ledger)
    earlier = {f"{i:064x}" for i in range(external.MAX_EXPIRED_WITH - 1)}
    Order.get("XCP-BTC", sold.tx_hash).update(actions=[Order.expired_with.set(earlier)])
    ledger.advance(1)
    orders.place_order(orders.OrderRequest("buyer", "BTC", 100, "XCP", 100, expiration=1000), ledger)
    assert settlement.match_market("XCP-BTC", ledger).fills == 1
    ledger.advance(21 * 10)
    scheduler.run(ledger)
    after = Order.get("XCP-BTC", sold.tx_hash, consistent_read=True)
    assert after.status == "expired" and after.book_key is None
    assert len(after.expired_with) == external.MAX_EXPIRED_WITH
    rows = {r["asset"]: r["quantity"] for r in body(client.http.get("/addresses/seller/balances"))}
    assert rows["XCP"] == 100  # the escrow came back
    audit_ok()


# -- 2. untradeable orders on top -----------------------------------------------------------

def test_restricted_orders_on_top_do_not_hide_the_crossing_book(client, zrx_weth):
    """201 taker-restricted orders per side (more than one page of the old read) cross each
    other at the top of the book, but their taker never trades."""
    ledger = zrx_weth
    fund(client, ledger, ("attacker", "ZRX", 10**6), ("attacker", "WETH", 10**6), ("alice", "ZRX", 100),
         ("bob", "WETH", 100))
    for _ in range(201):
        sell(ledger, "attacker", 4, 2, taker="0xunused", dialect="0x")  # asks 0.5
        buy(ledger, "attacker", 3, 4, taker="0xunused", dialect="0x")  # bids 0.75
    honest_ask = sell(ledger, "alice", 10, 6)  # 0.6
    honest_bid = buy(ledger, "bob", 7, 10)  # 0.7
    settlement.book.stats.reset()
    report = settlement.match_market("ZRX-WETH", ledger, traders=frozenset({"bob"}))
    assert report.fills == 1
    assert orders.get_order(honest_bid.tx_hash).status == "filled"
    assert orders.get_order(honest_ask.tx_hash).status == "filled"
    assert settlement.book.stats.items < 20  # the restricted orders were not read
    audit_ok()


# -- 3. every commit within DynamoDB's limits -----------------------------------------------

def test_orders_closed_on_entry_are_counted_within_100_items(client, zrx_weth):
    """99 dust orders (re-opened with a remainder too small to trade) sit on top of the asks
    next to a crossing pair: closing them all in the pair's commit needs > 100 items."""
    ledger = zrx_weth
    fund(client, ledger, ("duster", "ZRX", 10**6), ("alice", "ZRX", 100), ("bob", "WETH", 100))
    dust = [sell(ledger, "duster", 1000, 1) for _ in range(99)]  # asks 0.001 WETH per ZRX
    for order in dust:  # as if a partial fill had left 500, too little to buy 1 WETH
        Order.get("ZRX-WETH", order.tx_hash).update(actions=[Order.give_remaining.set(500)])
    sell(ledger, "alice", 10, 5)
    bid = buy(ledger, "bob", 10, 10)
    seen, capture = transactions()
    with capture:
        settlement.match_market("ZRX-WETH", ledger)
    assert seen and max(len(items) for items in seen) <= store.MAX_TRANSACTION_ITEMS
    assert max(len(items) for items in seen) >= store.MAX_TRANSACTION_ITEMS - 5  # filled to the limit
    assert orders.get_order(bid.tx_hash).status == "filled"
    # The pair's commit closed as many as fit; the others close with the next crossing read.
    assert sum(orders.get_order(o.tx_hash).status == "filled" for o in dust) >= 85


def test_a_sweep_of_many_makers_is_split_at_100_items(client, zrx_weth):
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
    assert max(sizes) <= store.MAX_TRANSACTION_ITEMS and max(sizes) >= store.MAX_TRANSACTION_ITEMS - 4, sizes
    audit_ok()


def test_a_commit_stays_within_the_byte_limit(client, zrx_weth, monkeypatch):
    """The 4 MB limit by construction, tested with the limit lowered so ten fills exceed it."""
    ledger = zrx_weth
    makers = [f"maker{i}" + "m" * 90 for i in range(10)]  # long names: bigger items
    fund(client, ledger, *[(maker, "ZRX", 10) for maker in makers], ("taker", "WETH", 1000))
    for maker in makers:
        sell(ledger, maker, 10, 10)
    buy(ledger, "taker", 100, 100)
    limit = 9_000
    monkeypatch.setattr(store, "MAX_TRANSACTION_BYTES", limit)
    seen, capture = transactions()
    with capture:
        report = settlement.match_market("ZRX-WETH", ledger)
    assert report.fills == 10 and report.transactions >= 2
    assert max(len(json.dumps(items)) for items in seen) <= limit
    audit_ok()


def test_one_oversized_market_does_not_stop_the_scheduler(client, zrx_weth):
    """Item 3's consequence, as a scenario (it fails on the code before the fix: the dust
    market's commit raised out of `scheduler.run`, so no later market expired anything)."""
    ledger = zrx_weth
    assert post(client, "/admin/assets", {"name": "XCP", "decimals": 0}).status_code == 201
    assert post(client, "/admin/markets", {"id": "XCP-WETH", "base": "XCP", "quote": "WETH"}).status_code == 201
    fund(client, ledger, ("duster", "ZRX", 10**6), ("alice", "ZRX", 100), ("bob", "WETH", 100),
         ("carol", "XCP", 100))
    for _ in range(99):
        order = sell(ledger, "duster", 1000, 1)
        Order.get("ZRX-WETH", order.tx_hash).update(actions=[Order.give_remaining.set(500)])
    sell(ledger, "alice", 10, 5)
    bid = buy(ledger, "bob", 10, 10)
    ledger.advance(0.001)
    later, _ = orders.place_order(orders.OrderRequest("carol", "XCP", 10, "WETH", 10, expiration=1), ledger)
    ledger.advance(60)
    scheduler.run(ledger)
    assert orders.get_order(later.tx_hash).status == "expired"
    assert orders.get_order(bid.tx_hash).status == "filled"  # (no audit: the dust's partial fills are faked)


# -- 5. placement retried, never a 500 ------------------------------------------------------

def test_placement_survives_conflicts_throttles_and_a_lost_answer(client, zrx_weth):
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
    assert rows["ZRX"] == 90  # locked once
    audit_ok()


def test_placement_under_lasting_contention_is_busy_not_a_500(client, zrx_weth):
    ledger = zrx_weth
    post(client, "/admin/apikeys", {"public": True, "account": "alice", "scopes": ["trade"]})
    key = body(post(client, "/admin/apikeys", {"public": True, "account": "alice", "scopes": ["read", "trade"]}))["key"]
    fund(client, ledger, ("alice", "ZRX", 100))

    def conflict(operation, params):
        if operation == "TransactWriteItems":
            raise support.client_error("TransactionCanceledException", operation,
                                       ["None", "TransactionConflict", "None"])

    with pytest.raises(Busy), support.hook(conflict):
        sell(ledger, "alice", 10, 5)
    with support.hook(conflict):
        response = client.http.post("/api/v1/trading/place/selllimit",
                                    headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
                                    body=json.dumps({"market": "ZRX-WETH", "price": "0.5", "amount": "4"}))
    assert response.status_code == 503, response.body
    assert body(response)["success"] is False
    audit_ok()
