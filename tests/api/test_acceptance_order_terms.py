"""Issue 9's acceptance flow on the API tier: the same trade as CoinBTR limit orders (base-capped)
and as Counterparty-style orders (give-capped), read back through CoinBTR and Counterparty."""

from __future__ import annotations

import json

import pytest

from chalicelib.events import scheduler
from chalicelib.ledger import balances, orders
from tests.support import audit_ok, post

E8 = 10**8


def body(response):
    return json.loads(response.body)


@pytest.fixture
def accounts(client, ledger):
    for name in ("ZRX", "WETH"):
        assert post(client, "/admin/assets", {"name": name, "decimals": 8}).status_code == 201
    assert post(client, "/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH"}).status_code == 201
    keys = {}
    for account, coin in (("alice", "ZRX"), ("bob", "WETH")):
        keys[account] = body(post(client, "/admin/apikeys", {"account": account, "scopes": ["read", "trade"]}))["key"]
        post(client, "/admin/deposits", {"coin": coin, "txid": f"fund-{account}", "address": account, "amount": "10"})
    scheduler.run(ledger)
    return keys


def place(client, key, side, price, amount):
    response = client.http.post(f"/api/v1/trading/place/{side}limit",
                                headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
                                body=json.dumps({"market": "ZRX-WETH", "price": price, "amount": amount}))
    assert response.status_code == 200, response.body
    return body(response)["data"]


def available(account, asset):
    found = balances.get_balance(account, asset, consistent=True)
    return (found.available, found.locked) if found else (0, 0)


def test_a_coinbtr_buy_receives_its_amount_and_gets_its_unspent_quote_back(client, ledger, accounts):
    sell = place(client, accounts["alice"], "sell", "0.5", "4")
    ledger.advance(1)
    buy = place(client, accounts["bob"], "buy", "0.6", "3")
    scheduler.run(ledger)

    assert available("bob", "ZRX") == (3 * E8, 0)  # exactly the 3 asked for, not 3.6
    assert available("bob", "WETH") == (10 * E8 - 3 * E8 // 2, 0)  # paid 1.5 at alice's price; 0.3 back
    assert available("alice", "WETH") == (3 * E8 // 2, 0)
    mine = {o["id"]: o for o in body(client.http.get(
        "/api/v1/trading/listopenorders", headers={"Authorization": f"Token {accounts['alice']}"}))["data"]}
    assert mine[sell["id"]]["remaining"] == 1.0  # alice's sell has 1 left, still open
    bob_order = body(client.http.post("/api/v1/trading/getopenorder", body=json.dumps({"id": buy["id"]}),
                                      headers={"Authorization": f"Token {accounts['bob']}",
                                               "Content-Type": "application/json"}))["data"]
    assert (bob_order["status"], bob_order["filled"]) == ("filled", 3.0)

    (match,) = body(client.http.get(f"/orders/{sell['id']}/matches?status=all"))
    assert (match["forward_asset"], match["forward_quantity"], match["forward_quantity_normalized"]) == \
        ("ZRX", 3 * E8, "3.00000000")
    assert (match["backward_asset"], match["backward_quantity"], match["backward_quantity_normalized"]) == \
        ("WETH", 3 * E8 // 2, "1.50000000")
    audit_ok()


def test_the_same_trade_as_counterparty_orders_keeps_counterpartys_give_capped_result(client, ledger, accounts):
    sell, _ = orders.place_order(orders.OrderRequest("alice", "ZRX", 4 * E8, "WETH", 2 * E8), ledger)
    ledger.advance(1)
    buy, _ = orders.place_order(orders.OrderRequest("bob", "WETH", 18 * E8 // 10, "ZRX", 3 * E8), ledger)
    scheduler.run(ledger)

    # Counterparty: capped by what it gives; at alice's better price bob's 1.8 WETH buys 3.6 ZRX
    assert available("bob", "ZRX") == (36 * E8 // 10, 0)
    assert available("bob", "WETH") == (10 * E8 - 18 * E8 // 10, 0)
    (match,) = body(client.http.get(f"/orders/{sell.tx_hash}/matches?status=all"))
    assert (match["forward_quantity"], match["backward_quantity"]) == (36 * E8 // 10, 18 * E8 // 10)
    (alice_order,) = body(client.http.get(f"/orders/{sell.tx_hash}"))
    assert (alice_order["status"], alice_order["give_remaining"]) == ("open", 4 * E8 // 10)
    (bob_order,) = body(client.http.get(f"/orders/{buy.tx_hash}"))
    assert bob_order["status"] == "filled" and bob_order["give_remaining"] == 0
    audit_ok()


def test_a_coinbtr_sell_walking_better_bids_sells_its_whole_amount(client, ledger, accounts):
    """A sell of 4 at 0.5 against two bids of 2 at 1.0: reaching its 2 WETH early does not
    end it (cap "give_all"); it sells all 4, at the bids' price."""
    post(client, "/admin/deposits", {"coin": "WETH", "txid": "more-bob", "address": "bob", "amount": "10"})
    scheduler.run(ledger)
    for _ in range(2):
        place(client, accounts["bob"], "buy", "1", "2")
        ledger.advance(1)
    sell = place(client, accounts["alice"], "sell", "0.5", "4")
    scheduler.run(ledger)
    assert available("bob", "ZRX") == (4 * E8, 0)
    assert available("alice", "ZRX") == (6 * E8, 0)  # nothing left locked or refunded unsold
    assert available("alice", "WETH") == (4 * E8, 0)
    (order,) = body(client.http.get(f"/orders/{sell['id']}"))
    assert (order["status"], order["give_remaining"]) == ("filled", 0)
    audit_ok()
