"""CoinBTR trading and market routes over the shared ledger and matcher."""

from __future__ import annotations

import json

import pytest

from chalicelib.events import scheduler
from tests.support import audit_ok, post, table_snapshot


def body(response):
    return json.loads(response.body)


def token(key):
    return {"Authorization": f"Token {key}", "Content-Type": "application/json"}


@pytest.fixture
def market(client, ledger):
    assert post(client, "/admin/assets", {"name": "ZRX", "decimals": 8}).status_code == 201
    assert post(client, "/admin/assets", {"name": "WETH", "decimals": 8}).status_code == 201
    assert post(client, "/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH", "fee": "0.001"}
                ).status_code == 201
    keys = {}
    for account, coin in (("alice", "ZRX"), ("bob", "WETH")):
        r = post(client, "/admin/apikeys", {"public": True, "account": account, "scopes": ["read", "trade"]})
        keys[account] = body(r)["key"]
        post(client, "/admin/deposits", {"coin": coin, "txid": f"fund-{account}", "address": account, "amount": "100"})
    scheduler.run(ledger)
    return keys


def place(client, key, side, market="ZRX-WETH", price="0.5", amount="4"):
    return client.http.post(f"/api/v1/trading/place/{side}limit", headers=token(key),
                            body=json.dumps({"market": market, "price": price, "amount": amount}))


def balances(client, account):
    return {row["asset"]: row["quantity"] for row in body(client.http.get(f"/addresses/{account}/balances"))}


def test_a_buy_and_a_sell_cross_and_settle_everywhere(client, ledger, market):
    sell = place(client, market["alice"], "sell")
    assert sell.status_code == 200, sell.body
    sell_id = body(sell)["data"]["id"]
    assert len(sell_id) == 64
    ledger.advance(1)
    buy = place(client, market["bob"], "buy", price="0.6")
    buy_id = body(buy)["data"]["id"]
    book = body(client.http.get("/market/getorderbook?market=ZRX-WETH"))["data"]
    assert book["asks"] == [{"price": 0.5, "amount": 4.0}] and book["bids"] == [{"price": 0.6, "amount": 4.0}]

    scheduler.run(ledger)  # the reconciler settles what the stream would have triggered

    # alice sold 4 ZRX at her price 0.5: she gets 2 WETH; bob pays 2 WETH (not 2.4), gets 4 ZRX less 0.1% fee
    assert balances(client, "alice") == {"ZRX": 96 * 10**8, "WETH": 2 * 10**8}
    assert balances(client, "bob") == {"WETH": 98 * 10**8, "ZRX": 4 * 10**8 - 400_000}
    assert balances(client, "lambdex-fees") == {"ZRX": 400_000}
    book = body(client.http.get("/market/getorderbook?market=ZRX-WETH"))["data"]
    assert book == {"market": "ZRX-WETH", "bids": [], "asks": []}
    fills = body(client.http.get("/api/v1/trading/listtransactions", headers=token(market["bob"])))["data"]
    assert [(f["side"], f["price"], f["amount"], f["role"]) for f in fills] == [("buy", 0.5, 4.0, "taker")]
    matches = body(client.http.get(f"/orders/{sell_id}/matches?status=completed"))
    assert [m["id"] for m in matches] == [f"{sell_id}_{buy_id}"]
    assert matches[0]["forward_quantity"] == 4 * 10**8 and matches[0]["backward_quantity"] == 2 * 10**8
    assert body(client.http.get(f"/orders/{buy_id}"))[0]["status"] == "filled"
    ticker = body(client.http.get("/market/gettiker?market=ZRX-WETH"))["data"]
    assert ticker["last"] == 0.5 and ticker["volume"] == 4.0
    audit_ok()


def test_cancel_unlocks_and_only_the_owner_may_cancel(client, ledger, market):
    order_id = body(place(client, market["alice"], "sell"))["data"]["id"]
    assert balances(client, "alice")["ZRX"] == 96 * 10**8
    other = client.http.post("/api/v1/trading/cancel/buylimit", headers=token(market["bob"]),
                             body=json.dumps({"id": order_id}))
    assert other.status_code == 403 and body(other)["success"] is False
    mine = client.http.post("/api/v1/trading/cancel/selllimit", headers=token(market["alice"]),
                            body=json.dumps({"id": order_id}))
    assert mine.status_code == 200 and body(mine)["data"]["status"] == "cancelled"
    assert balances(client, "alice")["ZRX"] == 100 * 10**8
    again = client.http.post("/api/v1/trading/cancel", headers=token(market["alice"]),
                             body=json.dumps({"id": order_id}))
    assert again.status_code == 400
    audit_ok()


@pytest.mark.parametrize("payload, status", [
    ({"market": "ZRX-WETH", "price": "0.5", "amount": "1000"}, 400),  # more than available
    ({"market": "NOPE-WETH", "price": "0.5", "amount": "1"}, 404),
    ({"market": "ZRX-WETH", "price": "-1", "amount": "1"}, 400),
    ({"market": "ZRX-WETH", "price": "0.5", "amount": "0.000000001"}, 400),  # more decimals than ZRX has
    ({"market": "ZRX-WETH", "price": "abc", "amount": "1"}, 400),
    ({"market": "ZRX-WETH", "amount": "1"}, 400),
])
def test_bad_orders_are_refused_and_change_nothing(client, ledger, market, payload, status):
    before = table_snapshot()
    r = client.http.post("/api/v1/trading/place/selllimit", headers=token(market["alice"]), body=json.dumps(payload))
    assert r.status_code == status, r.body
    assert body(r)["success"] is False and body(r)["msg"]["error"]
    assert table_snapshot() == before


def test_a_buy_too_small_to_pay_one_base_unit_is_refused(client, ledger, market):
    before = table_snapshot()
    r = place(client, market["bob"], "buy", price="0.00000001", amount="0.00000001")
    assert r.status_code == 400 and "smaller than one base unit" in body(r)["msg"]["error"]
    assert table_snapshot() == before


def test_keys_and_scopes(client, ledger, market):
    r = client.http.post("/api/v1/trading/place/selllimit", headers={"Authorization": "Token nope"},
                         body=json.dumps({"market": "ZRX-WETH", "price": "1", "amount": "1"}))
    assert r.status_code == 401
    assert client.http.get("/api/v1/trading/listopenorders").status_code == 401
    read_only = body(post(client, "/admin/apikeys", {"public": True, "account": "alice", "scopes": ["read"]}))["key"]
    r = place(client, read_only, "sell")
    assert r.status_code == 403 and "trade" in body(r)["msg"]["error"]
    assert client.http.get("/api/v1/wallet/user/profile", headers=token(read_only)).status_code == 200


def test_open_orders_and_market_routes(client, ledger, market):
    order_id = body(place(client, market["alice"], "sell", price="2"))["data"]["id"]
    rows = body(client.http.get("/api/v1/trading/listopenorders", headers=token(market["alice"])))["data"]
    assert [r["id"] for r in rows] == [order_id] and rows[0]["price"] == 2.0 and rows[0]["amount"] == 4.0
    one = client.http.post("/api/v1/trading/listopenorders", headers=token(market["alice"]),
                           body=json.dumps({"id": order_id}))
    assert body(one)["data"]["id"] == order_id
    assert client.http.post("/api/v1/trading/getopenorder", headers=token(market["bob"]),
                            body=json.dumps({"id": order_id})).status_code == 404
    books = body(client.http.get("/market/listbooks"))["data"]
    assert books[0]["book"] == "ZRX-WETH" and books[0]["fee"] == 0.001
    assert client.http.get("/market/getorderbook").status_code == 400
    assert client.http.get("/market/getorderbook?market=XXX-YYY").status_code == 404
    assert {c["coin"] for c in body(client.http.get("/api/v1/market/getcurrencies"))["data"]} == {"ZRX", "WETH"}
    assert body(client.http.get("/market/get24hvolume?market=zrx-weth"))["data"]["volume"] == 0.0
