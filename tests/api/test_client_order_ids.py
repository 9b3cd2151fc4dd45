"""CoinBTR client order ids: a retry returns the first order and locks nothing twice, also
when the duplicates race (on DynamoDB Local); open orders and fills page through every record."""

from __future__ import annotations

import json
import threading

import pytest

from chalicelib.events import scheduler
from chalicelib.ledger import balances, orders
from tests.support import audit_ok, post, table_snapshot


def body(response):
    return json.loads(response.body)


def token(key, **extra):
    return {"Authorization": f"Token {key}", "Content-Type": "application/json", **extra}


def setup(client, ledger) -> dict[str, str]:
    for name in ("ZRX", "WETH"):
        assert post(client, "/admin/assets", {"name": name, "decimals": 8}).status_code == 201
    assert post(client, "/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH"}).status_code == 201
    keys = {}
    for account in ("alice", "bob"):
        keys[account] = body(post(client, "/admin/apikeys", {"account": account, "scopes": ["read", "trade"]}))["key"]
        for coin in ("ZRX", "WETH"):
            post(client, "/admin/deposits", {"coin": coin, "txid": f"{account}-{coin}", "address": account,
                                             "amount": "100"})
    scheduler.run(ledger)
    return keys


@pytest.fixture
def keys(client, ledger):
    return setup(client, ledger)


def place(client, key, side="buy", headers=None, **fields):
    order = {"market": "ZRX-WETH", "price": "0.5", "amount": "4", **fields}
    return client.http.post(f"/api/v1/trading/place/{side}limit", headers={**token(key), **(headers or {})},
                            body=json.dumps(order))


def test_the_same_client_order_id_returns_the_first_order_and_locks_once(client, keys):
    first = place(client, keys["bob"], client_order_id="my-1")
    assert first.status_code == 200, first.body
    locked = balances.get_balance("bob", "WETH", consistent=True).locked
    assert locked == 2 * 10**8
    before = table_snapshot()
    again = place(client, keys["bob"], client_order_id="my-1")
    assert again.status_code == 200 and body(again)["data"]["id"] == body(first)["data"]["id"]
    assert table_snapshot() == before  # nothing locked twice, no second journal entry
    by_header = place(client, keys["bob"], headers={"Idempotency-Key": "my-1"})
    assert body(by_header)["data"]["id"] == body(first)["data"]["id"]
    assert table_snapshot() == before
    # the id is per account: alice's "my-1" is another order
    assert body(place(client, keys["alice"], client_order_id="my-1"))["data"]["id"] != body(first)["data"]["id"]
    audit_ok()


def test_a_reused_client_order_id_with_other_terms_is_refused(client, keys):
    place(client, keys["bob"], client_order_id="my-2")
    before = table_snapshot()
    other = place(client, keys["bob"], client_order_id="my-2", amount="5")
    assert other.status_code == 409 and body(other)["msg"]["code"] == "conflict"
    mismatch = place(client, keys["bob"], headers={"Idempotency-Key": "other"}, client_order_id="my-2")
    assert mismatch.status_code == 400 and body(mismatch)["msg"]["code"] == "invalid_input"
    for bad in ("", "x" * 65, "has space", "ü"):
        r = place(client, keys["bob"], client_order_id=bad)
        assert r.status_code == 400, (bad, r.body)
    assert place(client, keys["bob"], headers={"Idempotency-Key": "bad key"}).status_code == 400
    assert table_snapshot() == before


def test_racing_duplicates_make_one_order_and_one_lock(ddb_ledger):
    """Eight threads place the same client order id at once, on DynamoDB Local."""
    from chalicelib.ledger import assets, deposits, markets

    for name in ("ZRX", "WETH"):
        assets.create_asset(assets.Asset(name, decimals=8), ddb_ledger)
    from fractions import Fraction

    markets.create_market("ZRX-WETH", "ZRX", "WETH", Fraction(0), ddb_ledger)
    deposits.record_deposit(deposits.ObservedTransfer(coin="WETH", txid="f", quantity=100 * 10**8, address="bob"),
                            ddb_ledger)
    deposits.process_new_deposits(ddb_ledger)
    start = threading.Barrier(8)
    placed, failures = [], []

    def attempt():
        start.wait(60)
        try:
            request = orders.OrderRequest("bob", "WETH", 2 * 10**8, "ZRX", 4 * 10**8, market="ZRX-WETH", cap="get",
                                          dialect="coinbtr", client_order_id="race-1")
            placed.append(orders.place_order(request, ddb_ledger))
        except Exception as error:  # noqa: BLE001 - any failure fails the test below
            failures.append(repr(error))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    assert len({order.tx_hash for order, _ in placed}) == 1
    assert sum(created for _, created in placed) == 1
    balance = balances.get_balance("bob", "WETH", consistent=True)
    assert (balance.available, balance.locked) == (98 * 10**8, 2 * 10**8)
    audit_ok()


def test_open_orders_and_fills_page_through_every_record(client, ledger, keys):
    ids = []
    for i in range(12):
        r = place(client, keys["bob"], price=f"0.{i + 1:02d}", amount="1")
        ids.append(body(r)["data"]["id"])
        ledger.advance(1)
    seen = []
    for offset in range(0, 12, 5):
        r = client.http.get(f"/api/v1/trading/listopenorders?limit=5&offset={offset}", headers=token(keys["bob"]))
        seen += [o["id"] for o in body(r)["data"]]
    assert sorted(seen) == sorted(ids) and len(seen) == 12
    # bids best (highest) first
    assert [o["price"] for o in body(client.http.get("/api/v1/trading/listopenorders?limit=3",
                                                     headers=token(keys["bob"])))["data"]] == [0.12, 0.11, 0.10]
    assert body(client.http.get("/api/v1/trading/listopenorders?market=ZRX-WETH&offset=11",
                                headers=token(keys["bob"])))["data"][0]["id"] in ids
    # alice sells into every bid: twelve fills, paged newest first
    for _ in range(12):
        place(client, keys["alice"], side="sell", price="0.01", amount="1")
        scheduler.run(ledger)
        ledger.advance(1)
    fills = []
    for page in range(3):
        r = client.http.request("GET", "/api/v1/trading/listtransactions", headers=token(keys["bob"]),
                                body=json.dumps({"limit": 5, "offset": page * 5}))
        fills += body(r)["data"]
    assert len({f["id"] for f in fills}) == 12 and {f["order_id"] for f in fills} == set(ids)
    assert [f["date"] for f in fills] == sorted((f["date"] for f in fills), reverse=True)
    assert body(client.http.get("/api/v1/trading/listopenorders", headers=token(keys["bob"])))["data"] == []
    r = client.http.get("/api/v1/trading/listtransactions?limit=0", headers=token(keys["bob"]))
    assert r.status_code == 400 and body(r)["success"] is False
