"""The smaller dialect fixes: algod's uint64 bound, Counterparty's divisibility and normalized
quantities, CoinBTR forms and GET bodies and getticker, a token address naming its base market,
and market minimums refused in each dialect's shape. Every refusal changes nothing."""

from __future__ import annotations

import json
from fractions import Fraction
from urllib.parse import urlencode

import msgpack
import pytest

from chalicelib.events import scheduler
from chalicelib.ledger import assets, markets, settlement
from tests.api.relayer_helpers import ALICE, E18, WETH, ZRX, addr, fund, make_order, setup_market
from tests.support import ADMIN, post, table_snapshot

MAX_UINT64 = 2**64 - 1
ALGOD = {"X-Algo-API-Token": "test-algod-token"}
HOLDER = "NODLE477GT6ODHLLQBHP6WR7K5D23JHKUIXR2SOADZJN3N4HLNFRY3DYZY"


def body(response):
    return json.loads(response.body)


def test_an_algod_asset_supply_past_uint64_is_refused_at_creation(client):
    before = table_snapshot()
    r = post(client, "/admin/assets", {"name": "BIG", "asset_id": 9, "supply": str(MAX_UINT64 + 1), "issuer": "x"})
    assert r.status_code == 400 and body(r)["error"]["field"] == "supply"
    assert table_snapshot() == before
    assert post(client, "/admin/assets", {"name": "BIG", "asset_id": 9, "supply": str(MAX_UINT64),
                                          "issuer": "x"}).status_code == 201
    # an asset without an asset_id is no algod asset: 38 digits stay allowed
    assert post(client, "/admin/assets", {"name": "HUGE", "supply": "9" * 38, "issuer": "x"}).status_code == 201


def test_a_holding_grown_past_uint64_is_never_a_msgpack_500(client, ledger):
    assert post(client, "/admin/assets", {"name": "ALGO2", "asset_id": 10}).status_code == 201
    for txid in ("a", "b"):
        post(client, "/admin/deposits", {"coin": "ALGO2", "txid": txid, "address": HOLDER, "quantity": 2**63})
    scheduler.run(ledger)
    path = f"/v2/accounts/{HOLDER}/assets/10"
    assert body(client.http.get(path, headers=ALGOD))["asset-holding"]["amount"] == 2**64
    packed = client.http.get(path + "?format=msgpack", headers={**ALGOD, "Accept": "application/msgpack"})
    assert packed.status_code == 400 and "uint64" in body(packed)["message"]
    assert set(body(packed)) == {"message"}


def test_a_small_algod_holding_still_packs(client, ledger):
    assert post(client, "/admin/assets", {"name": "ALGO3", "asset_id": 11}).status_code == 201
    post(client, "/admin/deposits", {"coin": "ALGO3", "txid": "a", "address": HOLDER, "quantity": MAX_UINT64})
    scheduler.run(ledger)
    packed = client.http.get(f"/v2/accounts/{HOLDER}/assets/11?format=msgpack",
                             headers={**ALGOD, "Accept": "application/msgpack"})
    assert msgpack.unpackb(packed.body)["asset-holding"]["amount"] == MAX_UINT64


@pytest.fixture
def coinbtr(client, ledger):
    for name, decimals in (("ZRX", 8), ("WETH", 8), ("USD6", 6), ("NFT", 0)):
        assert post(client, "/admin/assets", {"name": name, "decimals": decimals}).status_code == 201
    assert post(client, "/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH", "fee": "0.001",
                                           "min_amount": "1"}).status_code == 201
    assert post(client, "/admin/markets", {"id": "NFT-USD6", "base": "NFT", "quote": "USD6"}).status_code == 201
    keys = {}
    for account, coin, amount in (("alice", "ZRX", "100"), ("bob", "WETH", "100"), ("bob", "USD6", "100"),
                                  ("alice", "NFT", "10")):
        if account not in keys:
            created = post(client, "/admin/apikeys", {"public": True, "account": account, "scopes": ["read", "trade"]})
            keys[account] = body(created)["key"]
        post(client, "/admin/deposits", {"coin": coin, "txid": f"{account}-{coin}", "address": account,
                                         "amount": amount})
    scheduler.run(ledger)
    return keys


def token(key, content_type="application/json"):
    return {"Authorization": f"Token {key}", "Content-Type": content_type}


def test_counterparty_divisible_and_normalized_quantities(client, ledger, coinbtr):
    info = {name: body(client.http.get(f"/assets/{name}"))[0]["divisible"] for name in ("ZRX", "USD6", "NFT")}
    assert info == {"ZRX": True, "USD6": False, "NFT": False}
    rows = {r["asset"]: r["quantity_normalized"] for r in body(client.http.get("/addresses/bob/balances"))}
    assert rows == {"WETH": "100.00000000", "USD6": "100.000000"}
    sell = client.http.post("/api/v1/trading/place/selllimit", headers=token(coinbtr["alice"]),
                            body=json.dumps({"market": "NFT-USD6", "price": "2.5", "amount": "3"}))
    order_id = body(sell)["data"]["id"]
    ledger.advance(1)
    client.http.post("/api/v1/trading/place/buylimit", headers=token(coinbtr["bob"]),
                     body=json.dumps({"market": "NFT-USD6", "price": "2.5", "amount": "3"}))
    scheduler.run(ledger)
    (order,) = body(client.http.get(f"/orders/{order_id}"))
    assert (order["give_quantity_normalized"], order["get_quantity_normalized"]) == ("3", "7.500000")
    assert (order["give_remaining_normalized"], order["fee_required_normalized"]) == ("0", "0.00000000")
    (match,) = body(client.http.get(f"/orders/{order_id}/matches?status=all"))
    assert (match["forward_quantity_normalized"], match["backward_quantity_normalized"]) == ("3", "7.500000")
    assert match["fee_paid_normalized"] == "0"  # the fee is in NFT, an indivisible asset


def test_coinbtr_trading_takes_form_bodies(client, coinbtr):
    form = urlencode({"market": "ZRX-WETH", "price": "0.5", "amount": "2"})
    r = client.http.post("/api/v1/trading/place/selllimit",
                         headers=token(coinbtr["alice"], "application/x-www-form-urlencoded"), body=form)
    assert r.status_code == 200, r.body
    order_id = body(r)["data"]["id"]
    r = client.http.post("/api/v1/trading/cancel", headers=token(coinbtr["alice"], "application/x-www-form-urlencoded"),
                         body=urlencode({"id": order_id}))
    assert body(r)["data"]["status"] == "cancelled"


def test_coinbtr_gets_take_the_documented_json_body(client, coinbtr):
    r = client.http.request("GET", "/api/v1/wallet/getdepositaddress", headers=token(coinbtr["bob"]),
                            body=json.dumps({"coin": "weth"}))
    assert r.status_code == 200 and body(r)["data"]["coin"] == "weth", r.body
    r = client.http.request("GET", "/api/v1/wallet/getbalance", headers=token(coinbtr["bob"]),
                            body=json.dumps({"coin": "WETH"}))
    assert body(r)["data"]["available"] == 100.0
    r = client.http.request("GET", "/market/getticker", headers={"Content-Type": "application/json"},
                            body=json.dumps({"market": "ZRX-WETH"}))
    assert body(r)["data"]["market"] == "ZRX-WETH"
    r = client.http.request("GET", "/api/v1/wallet/getbalance", headers=token(coinbtr["bob"]),
                            body=json.dumps({"coin": 7}))
    assert r.status_code == 400 and body(r)["success"] is False


def test_getticker_is_served_beside_the_specs_gettiker(client, coinbtr):
    for path in ("/market/getticker", "/market/gettiker", "/api/v1/market/getticker", "/api/v1/market/gettiker"):
        r = client.http.get(f"{path}?market=ZRX-WETH")
        assert r.status_code == 200 and body(r)["data"]["market"] == "ZRX-WETH", path


def test_an_order_below_the_market_minimum_is_refused_in_each_dialect(client, ledger, coinbtr):
    before = table_snapshot()
    r = client.http.post("/api/v1/trading/place/buylimit", headers=token(coinbtr["bob"]),
                         body=json.dumps({"market": "ZRX-WETH", "price": "0.5", "amount": "0.5"}))
    assert r.status_code == 400 and body(r)["msg"]["code"] == "invalid_input"
    assert "minimum" in body(r)["msg"]["error"]
    assert table_snapshot() == before


def test_a_0x_order_below_the_minimum_is_refused_with_the_relayer_code(client, ledger):
    setup_market(ledger, min_amount=10 * E18)
    fund(ledger, addr(ALICE), "ZRX", 100 * E18)
    before = table_snapshot()
    order = make_order(ALICE, ZRX, 5 * E18, WETH, E18 // 100, ledger)
    r = client.http.post("/v0/order", headers={"Content-Type": "application/json"}, body=json.dumps(order))
    assert r.status_code == 400
    error = body(r)["error"]
    assert error["code"] == 100 and error["validationErrors"][0]["field"] == "makerTokenAmount"
    assert error["validationErrors"][0]["code"] == 1004
    assert table_snapshot() == before


def test_a_token_address_names_the_market_where_it_is_the_base(client, ledger):
    setup_market(ledger)
    assets.create_asset(assets.Asset("ABC", decimals=18, token_address="0x" + "ab" * 20), ledger)
    markets.create_market("ABC-ZRX", "ABC", "ZRX", Fraction(0), ledger)  # ZRX also quotes a market
    fund(ledger, addr(ALICE), "ZRX", 100 * E18)
    client.http.post("/v0/order", headers={"Content-Type": "application/json"},
                     body=json.dumps(make_order(ALICE, ZRX, 5 * E18, WETH, E18 // 100, ledger)))
    settlement.match_market("ZRX-WETH", ledger)
    r = client.http.get(f"/v0/orderbook?pair={ZRX}")
    assert r.status_code == 200 and [o["pair"] for o in body(r)["asks"]] == ["ZRX-WETH"]
    # WETH is no market's base and quotes one market: that one
    assert client.http.get(f"/v0/orderbook?pair={WETH}").status_code == 200
    # ABC is the base of ABC-ZRX only
    assert body(client.http.get("/v0/orderbook?pair=0x" + "ab" * 20)) == {"bids": [], "asks": []}


def test_admin_lists_stay_admin_shaped(client):
    r = client.http.get("/admin/markets/NOPE-X", headers=ADMIN)
    assert r.status_code == 404 and body(r)["error"]["code"] == "NotFound"
