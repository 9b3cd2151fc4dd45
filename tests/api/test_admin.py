"""Admin routes: the bearer token, every body's validation, idempotent deposits."""

from __future__ import annotations

import json

import pytest

from tests.support import ADMIN, audit_ok, post, table_snapshot


def body(response):
    return json.loads(response.body)


ROUTES = [("POST", "/admin/assets"), ("GET", "/admin/assets"), ("GET", "/admin/assets/XCP"),
          ("POST", "/admin/markets"), ("GET", "/admin/markets"), ("POST", "/admin/pairs"), ("GET", "/admin/pairs"),
          ("POST", "/admin/apikeys"), ("GET", "/admin/apikeys?account=a"), ("POST", "/admin/deposits"),
          ("GET", "/admin/deposits"), ("GET", "/admin/deposits/XCP/t/0")]


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-admin-token"}])
def test_every_admin_route_needs_the_token(client, ledger, method, path, headers):
    before = table_snapshot()
    response = client.http.request(method, path, headers=headers, body=b"{}")
    assert response.status_code == 401
    assert body(response)["error"]["code"] == "Unauthorized"
    assert table_snapshot() == before


def test_create_and_read_an_asset(client, ledger):
    r = post(client, "/admin/assets", {"name": "xcp", "decimals": 8, "issuer": "alice", "supply": "1000",
                                        "asset_id": 7, "description": "Counterparty"})
    assert r.status_code == 201 and body(r)["name"] == "XCP" and body(r)["owner"] == "alice"
    assert body(client.http.get("/admin/assets/xcp", headers=ADMIN))["supply"] == 1000
    assert [a["name"] for a in body(client.http.get("/admin/assets", headers=ADMIN))] == ["XCP"]
    assert body(client.http.get("/addresses/alice/balances")) == [
        {"address": "alice", "asset": "XCP", "quantity": 1000, "quantity_normalized": "0.00001000"}]
    audit_ok()


BAD_ASSETS = [
    ({"decimals": 8}, "name"),
    ({"name": "bad name!"}, "name"),
    ({"name": "A", "decimals": 20}, "decimals"),
    ({"name": "A", "decimals": -1}, "decimals"),
    ({"name": "A", "supply": 5}, "issuer"),
    ({"name": "A", "supply": -5, "issuer": "x"}, "supply"),
    ({"name": "A", "supply": 10**38, "issuer": "x"}, "supply"),
    ({"name": "A", "settlement": "maybe"}, "settlement"),
    ({"name": "A", "deposit": "pigeon"}, "deposit"),
    ({"name": "A", "token_address": "0x123"}, "token_address"),
    ({"name": "A", "address_pattern": "(("}, "address_pattern"),
    ({"name": "A", "unexpected": 1}, "unexpected"),
    ({"name": "A", "asset_id": "seven"}, "asset_id"),
]


@pytest.mark.parametrize("payload, field", BAD_ASSETS)
def test_bad_assets_are_refused_and_write_nothing(client, ledger, payload, field):
    before = table_snapshot()
    r = post(client, "/admin/assets", payload)
    assert r.status_code == 400, r.body
    assert field in (body(r)["error"].get("field") or "") + body(r)["error"]["message"]
    assert table_snapshot() == before


def test_duplicates_conflict_and_write_nothing(client, ledger):
    assert post(client, "/admin/assets", {"name": "A", "asset_id": 1, "token_address": "0x" + "1" * 40}
                ).status_code == 201
    before = table_snapshot()
    for payload in ({"name": "a"}, {"name": "B", "asset_id": 1}, {"name": "C", "token_address": "0x" + "1" * 40}):
        r = post(client, "/admin/assets", payload)
        assert r.status_code == 409, (payload, r.body)
    assert table_snapshot() == before


def test_not_json_and_not_an_object(client, ledger):
    assert post(client, "/admin/assets", "{not json").status_code == 400
    assert post(client, "/admin/assets", "[1, 2]").status_code == 400
    assert client.http.get("/admin/assets/NOPE", headers=ADMIN).status_code == 404


@pytest.fixture
def assets(client, ledger):
    for name in ("ZRX", "WETH"):
        assert post(client, "/admin/assets", {"name": name, "decimals": 18}).status_code == 201
    assert post(client, "/admin/assets", {"name": "SGTK", "decimals": 3, "deposit": "memo"}).status_code == 201


@pytest.mark.parametrize("payload, status", [
    ({"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH", "fee": "1.5"}, 400),
    ({"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH", "fee": "-0.1"}, 400),
    ({"id": "WETH-ZRX", "base": "ZRX", "quote": "WETH"}, 400),
    ({"id": "ZRX-ZRX", "base": "ZRX", "quote": "ZRX"}, 400),
    ({"id": "ZRX-NOPE", "base": "ZRX", "quote": "NOPE"}, 404),
    ({"id": "ZRX-WETH", "base": "ZRX"}, 400),
    ({"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH", "min_amount": "0.1234567890123456789"}, 400),
])
def test_bad_markets(client, assets, payload, status):
    before = table_snapshot()
    assert post(client, "/admin/markets", payload).status_code == status
    assert table_snapshot() == before


def test_markets_and_pairs(client, assets):
    r = post(client, "/admin/markets", {"id": "zrx-weth", "base": "zrx", "quote": "weth", "fee": 0.001,
                                         "min_amount": "1.5"})
    assert r.status_code == 201 and body(r)["id"] == "ZRX-WETH" and body(r)["min_amount"] == 15 * 10**17
    assert post(client, "/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH"}).status_code == 409
    assert [m["id"] for m in body(client.http.get("/admin/markets", headers=ADMIN))] == ["ZRX-WETH"]
    assert client.http.get("/admin/markets/ZRX-WETH", headers=ADMIN).status_code == 200
    r = post(client, "/admin/pairs", {"from_coin": "zrx", "to_coin": "SGTK", "exchange_rate": "100000", "ex_fee": "1"})
    assert r.status_code == 201 and body(r)["id"] == 1 and body(r)["exchange_rate"] == "100000"
    for bad in ({"from_coin": "ZRX", "to_coin": "ZRX", "exchange_rate": "1"},
                {"from_coin": "ZRX", "to_coin": "WETH", "exchange_rate": "0"},
                {"from_coin": "ZRX", "to_coin": "WETH", "exchange_rate": "x"},
                {"from_coin": "ZRX", "to_coin": "WETH", "exchange_rate": "1", "ex_fee": "100"}):
        assert post(client, "/admin/pairs", bad).status_code == 400, bad
    assert post(client, "/admin/pairs", {"from_coin": "ZRX", "to_coin": "SGTK", "exchange_rate": "2"}
                ).status_code == 409


def test_api_keys_are_shown_once_and_stored_hashed(client, ledger):
    r = post(client, "/admin/apikeys", {"public": True, "account": "alice", "scopes": ["read", "trade"]})
    assert r.status_code == 201
    key = body(r)["key"]
    snapshot = json.dumps(table_snapshot())
    assert key not in snapshot
    listed = body(client.http.get("/admin/apikeys?account=alice", headers=ADMIN))
    assert listed[0]["scopes"] == ["read", "trade"] and "key" not in listed[0]
    for bad in ({"account": "a", "scopes": []}, {"account": "a", "scopes": ["admin"]}, {"scopes": ["read"]}):
        assert post(client, "/admin/apikeys", bad).status_code == 400


def test_deposits_are_idempotent_and_credited_once(client, assets, ledger):
    from chalicelib.events import scheduler

    deposit = {"coin": "WETH", "txid": "0xabc", "vout": 1, "address": "0xbob", "amount": "1.5", "confirmations": 0}
    first = post(client, "/admin/deposits", deposit)
    assert first.status_code == 201 and body(first)["quantity"] == 15 * 10**17 and body(first)["status"] == "new"
    assert post(client, "/admin/deposits", deposit).status_code == 200
    scheduler.run(ledger)
    assert body(client.http.get("/admin/deposits/WETH/0xabc/1", headers=ADMIN))["status"] == "new"  # unconfirmed
    confirmed = post(client, "/admin/deposits", {**deposit, "confirmations": 3})
    assert body(confirmed)["confirmations"] == 3
    scheduler.run(ledger)
    scheduler.run(ledger)
    assert body(client.http.get("/addresses/0xbob/balances"))[0]["quantity"] == 15 * 10**17
    assert body(client.http.get("/admin/deposits/weth/0xabc/1", headers=ADMIN))["status"] == "credited"
    changed = post(client, "/admin/deposits", {**deposit, "amount": "2"})
    assert changed.status_code == 409
    audit_ok()


@pytest.mark.parametrize("payload, status", [
    ({"coin": "WETH", "txid": "t", "address": "a"}, 400),  # no amount
    ({"coin": "WETH", "txid": "t", "address": "a", "amount": "1", "quantity": 1}, 400),
    ({"coin": "WETH", "txid": "t", "amount": "1"}, 400),  # no destination
    ({"coin": "WETH", "txid": "t", "address": "a", "amount": "-1"}, 400),
    ({"coin": "WETH", "txid": "t", "address": "a", "amount": "0"}, 400),
    ({"coin": "WETH", "txid": "t", "address": "a", "amount": "1." + "1" * 19}, 400),
    ({"coin": "WETH", "txid": "t", "address": "a", "quantity": 10**38}, 400),
    ({"coin": "WETH", "txid": "t", "address": "a", "quantity": 1.5}, 400),
    ({"coin": "NOPE", "txid": "t", "address": "a", "quantity": 1}, 404),
    ({"coin": "SGTK", "txid": "t", "address": "a", "quantity": 1}, 400),  # memo coin needs to_account
    ({"coin": "WETH", "txid": "", "address": "a", "quantity": 1}, 400),
    ({"coin": "WETH", "txid": "t", "address": "a", "quantity": 1, "vout": -1}, 400),
])
def test_bad_deposits_write_nothing(client, assets, payload, status):
    before = table_snapshot()
    r = post(client, "/admin/deposits", payload)
    assert r.status_code == status, r.body
    assert table_snapshot() == before


def test_memo_deposits_credit_the_memo_owner_or_end_inv(client, assets, ledger):
    from chalicelib.events import scheduler
    from chalicelib.ledger.models import DepositAddress

    DepositAddress("SGTK#memo#m-1", coin="SGTK", owner="carol", account="exchange", memo="m-1").save()
    post(client, "/admin/deposits", {"coin": "SGTK", "txid": "a", "to_account": "exchange", "memo": "m-1",
                                     "amount": "2.5"})
    post(client, "/admin/deposits", {"coin": "SGTK", "txid": "b", "to_account": "exchange", "memo": "zzz",
                                     "amount": "1"})
    scheduler.run(ledger)
    assert body(client.http.get("/addresses/carol/balances")) == [{"address": "carol", "asset": "SGTK",
                                                                   "quantity": 2500, "quantity_normalized": "2.500"}]
    invalid = body(client.http.get("/admin/deposits/SGTK/b/0", headers=ADMIN))
    assert invalid["status"] == "inv" and "memo" in invalid["error"]
    audit_ok()
