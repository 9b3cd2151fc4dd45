"""Lifecycle admin routes: markets, API keys, frozen balances, operator cancels, deposit
refunds and rejections, listings. Each change is journaled with its operator and reason;
every bad input is a 4xx that changes nothing."""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib.events import scheduler
from chalicelib.ledger import chain
from chalicelib.ledger.models import JournalEntry, Order
from tests.api.relayer_helpers import ALICE, BOB, E18, WETH, ZRX, addr, fund, make_order, setup_market
from tests.support import ADMIN, audit_ok, post, table_snapshot

OPS = {**ADMIN, "X-Lambdex-Operator": "ops.alice"}
REASON = {"reason": "ticket 42"}


def body(response):
    return json.loads(response.body)


def op(client, path, payload=None, method="POST"):
    return client.http.request(method, path, headers=OPS, body=json.dumps(REASON if payload is None else payload))


def actions_of(client, operator="ops.alice"):
    r = client.http.get(f"/admin/actions?operator={operator}", headers=ADMIN)
    assert r.status_code == 200, r.body
    return body(r)["items"]


@pytest.fixture
def market(client, ledger):
    setup_market(ledger, fee="0.001")
    fund(ledger, addr(ALICE), "ZRX", 1000 * E18)
    fund(ledger, addr(BOB), "WETH", 10 * E18)
    return ledger


def coinbtr_key(client, account, scopes=("read", "trade", "withdraw")):
    r = post(client, "/admin/apikeys", {"public": True, "account": account, "scopes": list(scopes)})
    assert r.status_code == 201, r.body
    return body(r)


def coinbtr(client, key, path, payload):
    return client.http.post(path, headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
                            body=json.dumps(payload))


def sell_on_coinbtr(client, key, amount="1"):
    return coinbtr(client, key, "/api/v1/trading/place/selllimit",
                   {"market": "ZRX-WETH", "price": "0.001", "amount": amount})


# -- markets --------------------------------------------------------------------------

def test_disable_refuses_placement_in_coinbtr_and_0x_then_enable_takes_orders_again(client, market):
    key = coinbtr_key(client, addr(ALICE))["key"]
    r = op(client, "/admin/markets/ZRX-WETH/disable")
    assert r.status_code == 200 and body(r)["enabled"] is False
    before = table_snapshot()
    cb = sell_on_coinbtr(client, key)
    assert cb.status_code == 400, cb.body
    assert body(cb)["success"] is False and "disabled" in json.dumps(body(cb)["msg"])
    zx = client.http.post("/v0/order", headers={"Content-Type": "application/json"},
                          body=json.dumps(make_order(ALICE, ZRX, 100 * E18, WETH, E18 // 10, market)))
    assert zx.status_code == 400, zx.body
    assert "disabled" in json.dumps(body(zx)["error"]) and isinstance(body(zx)["error"]["code"], int)
    assert table_snapshot() == before
    assert op(client, "/admin/markets/ZRX-WETH/enable").status_code == 200
    assert sell_on_coinbtr(client, key).status_code == 200
    assert sorted(a["kind"] for a in actions_of(client)) == ["market_disable", "market_enable"]
    assert all(a["reason"] == "ticket 42" and a["ref"] == "ZRX-WETH" for a in actions_of(client))
    audit_ok()


def test_update_a_markets_fee_and_minimum(client, market):
    r = op(client, "/admin/markets/zrx-weth", {"fee": "0.002", "min_amount": "0.5", "url": None, "reason": "x"},
           method="PATCH")
    assert r.status_code == 200, r.body
    got = body(r)
    assert (got["fee"], got["min_amount"], got["url"], got["name"]) == ("0.002", E18 // 2, None, "0xProject")
    assert body(client.http.get("/admin/markets/ZRX-WETH", headers=ADMIN))["fee"] == "0.002"
    assert actions_of(client)[0]["kind"] == "market_update"


BAD_MARKET_CHANGES = [
    ({"fee": "1"}, "fee"), ({"fee": "-0.1"}, "fee"), ({"fee": "abc"}, "fee"), ({"min_amount": "-1"}, "min_amount"),
    ({}, "change"), ({"fee": "0.1", "reason": ""}, "reason"), ({"fee": "0.1", "reason": "r" * 501}, "reason"),
    ({"fee": "0.1", "enabled": False}, "enabled"), ({"seq": 5}, "seq"),
]


def test_bad_market_changes_are_refused_and_change_nothing(client, market):
    before = table_snapshot()
    for payload, field in BAD_MARKET_CHANGES:
        r = op(client, "/admin/markets/ZRX-WETH", {"reason": "x", **payload}, method="PATCH")
        assert r.status_code == 400, (payload, r.body)
        assert field in json.dumps(body(r)["error"]), payload
    assert op(client, "/admin/markets/NOPE-WETH", {"reason": "x", "fee": "0"}, method="PATCH").status_code == 404
    assert table_snapshot() == before


LIFECYCLE_POSTS = [
    "/admin/markets/ZRX-WETH/disable", "/admin/markets/ZRX-WETH/enable", "/admin/apikeys/{key}/revoke",
    "/admin/apikeys/{key}/rotate", "/admin/balances/{alice}/ZRX/freeze", "/admin/balances/{alice}/ZRX/unfreeze",
    "/admin/orders/{order}/cancel", "/admin/accounts/{alice}/orders/cancel", "/admin/markets/ZRX-WETH/orders/cancel",
    "/admin/deposits/ZRX/t1/0/reject", "/admin/deposits/ZRX/t1/0/refund",
]


@pytest.fixture
def targets(client, market):
    key = coinbtr_key(client, addr(ALICE))
    order = body(sell_on_coinbtr(client, key["key"]))["data"]["id"]
    post(client, "/admin/deposits", {"coin": "ZRX", "txid": "t1", "address": addr(BOB), "quantity": 5})
    return {"key": key["id"], "alice": addr(ALICE), "order": order}


REFUSALS = [
    (ADMIN, REASON, 400),  # no operator
    ({**ADMIN, "X-Lambdex-Operator": "bad name!"}, REASON, 400),
    ({**ADMIN, "X-Lambdex-Operator": "o" * 65}, REASON, 400),
    (OPS, {}, 400),  # no reason
    (OPS, {"reason": "  "}, 400),
    (OPS, {"reason": "x", "surprise": 1}, 400),
    (OPS, "{not json", 400),
    (OPS, "[1]", 400),
    ({"X-Lambdex-Operator": "ops.alice"}, REASON, 401),
    ({**OPS, "Authorization": "Bearer wrong"}, REASON, 401),
]


@pytest.mark.parametrize("path", LIFECYCLE_POSTS)
def test_every_lifecycle_change_needs_token_operator_and_reason(client, targets, path):
    before = table_snapshot()
    for headers, payload, status in REFUSALS:
        raw = payload if isinstance(payload, str) else json.dumps(payload)
        r = client.http.post(path.format(**targets), headers=headers, body=raw)
        assert r.status_code == status, (headers, payload, r.body)
        assert "error" in body(r)
    assert table_snapshot() == before


UNKNOWN_TARGETS = [
    ("/admin/markets/NOPE-WETH/disable", 404), ("/admin/apikeys/{short}/revoke", 400),
    ("/admin/apikeys/{unknown}/rotate", 404), ("/admin/balances/{alice}/NOPE/freeze", 404),
    ("/admin/balances/nobody/ZRX/freeze", 404), ("/admin/balances/{alice}/ZRX/unfreeze", 409),
    ("/admin/orders/{unknown}/cancel", 404), ("/admin/orders/nothex/cancel", 404),
    ("/admin/markets/NOPE-WETH/orders/cancel", 404), ("/admin/deposits/ZRX/nope/0/reject", 404),
    ("/admin/deposits/ZRX/t1/x/reject", 400), ("/admin/deposits/NOPE/t1/0/reject", 404),
]


def test_unknown_targets_are_refused_and_change_nothing(client, targets):
    before = table_snapshot()
    for path, status in UNKNOWN_TARGETS:
        r = op(client, path.format(short="abc", unknown="0" * 64, **targets))
        assert r.status_code == status, (path, r.body)
    assert table_snapshot() == before


# -- API keys ---------------------------------------------------------------------------

def test_a_revoked_key_stops_working_and_a_rotated_key_is_replaced(client, market):
    created = coinbtr_key(client, addr(ALICE))
    assert len(created["id"]) == 64
    read = client.http.get("/api/v1/user/session", headers={"Authorization": f"Token {created['key']}"})
    assert read.status_code == 200, read.body
    rotated = op(client, f"/admin/apikeys/{created['id']}/rotate")
    assert rotated.status_code == 201, rotated.body
    new = body(rotated)
    assert new["key"] != created["key"] and new["scopes"] == ["read", "trade", "withdraw"]
    assert client.http.get("/api/v1/user/session", headers={"Authorization": f"Token {created['key']}"}
                           ).status_code == 401
    assert client.http.get("/api/v1/user/session", headers={"Authorization": f"Token {new['key']}"}
                           ).status_code == 200
    rows = {k["id"]: k for k in body(client.http.get(f"/admin/apikeys?account={addr(ALICE)}", headers=ADMIN))}
    assert rows[created["id"]]["replaced_by"] == new["id"] and rows[created["id"]]["revoked_us"]
    revoked = op(client, f"/admin/apikeys/{new['id']}/revoke")
    assert revoked.status_code == 200 and body(revoked)["revoked_us"]
    assert client.http.get("/api/v1/user/session", headers={"Authorization": f"Token {new['key']}"}
                           ).status_code == 401
    before = table_snapshot()
    assert op(client, f"/admin/apikeys/{new['id']}/revoke").status_code == 409
    assert op(client, f"/admin/apikeys/{created['id']}/rotate").status_code == 409
    assert table_snapshot() == before
    assert sorted(a["kind"] for a in actions_of(client)) == ["apikey_revoke", "apikey_rotate"]


# -- frozen balances ------------------------------------------------------------------------

def test_a_frozen_balance_cannot_place_or_withdraw_but_its_orders_still_cancel(client, market):
    key = coinbtr_key(client, addr(ALICE))["key"]
    resting = body(sell_on_coinbtr(client, key))["data"]["id"]
    r = op(client, f"/admin/balances/{addr(ALICE)}/zrx/freeze")
    assert r.status_code == 200 and body(r)["frozen"] is True, r.body
    before = table_snapshot()
    assert sell_on_coinbtr(client, key).status_code == 400
    w = coinbtr(client, key, "/api/v1/wallet/withdraw", {"coin": "ZRX", "address": "0x" + "ab" * 20, "amount": "1"})
    assert w.status_code == 400, w.body
    assert table_snapshot() == before
    assert op(client, f"/admin/balances/{addr(ALICE)}/ZRX/freeze").status_code == 409
    assert coinbtr(client, key, "/api/v1/trading/cancel", {"id": resting}).status_code == 200
    assert op(client, f"/admin/balances/{addr(ALICE)}/ZRX/unfreeze").status_code == 200
    assert sell_on_coinbtr(client, key).status_code == 200
    assert sorted(a["kind"] for a in actions_of(client)) == ["freeze", "unfreeze"]
    audit_ok()


# -- operator cancels ------------------------------------------------------------------------

def test_cancel_one_order_refunds_its_owner_and_journals_the_operator(client, market):
    key = coinbtr_key(client, addr(ALICE))["key"]
    order = body(sell_on_coinbtr(client, key, amount="3"))["data"]["id"]
    r = op(client, f"/admin/orders/{order}/cancel")
    assert r.status_code == 200 and body(r)["status"] == "cancelled", r.body
    entry = JournalEntry.get(f"cancel:{order}", consistent_read=True)
    assert (entry.operator, entry.reason) == ("ops.alice", "ticket 42")
    assert body(client.http.get(f"/addresses/{addr(ALICE)}/balances"))[0]["quantity"] == 1000 * E18
    before = table_snapshot()
    assert op(client, f"/admin/orders/{order}/cancel").status_code == 400  # not open any more
    assert table_snapshot() == before
    audit_ok()


@pytest.mark.parametrize("scope", ["account", "market"])
def test_cancel_all_orders_in_bounded_pages_resumed_by_cursor(client, market, scope):
    key = coinbtr_key(client, addr(ALICE))["key"]
    for _ in range(5):
        assert sell_on_coinbtr(client, key).status_code == 200
    bob_key = coinbtr_key(client, addr(BOB))["key"]
    bob = coinbtr(client, bob_key, "/api/v1/trading/place/buylimit",
                  {"market": "ZRX-WETH", "price": "0.0001", "amount": "1"})
    assert bob.status_code == 200, bob.body
    path = f"/admin/accounts/{addr(ALICE)}/orders/cancel" if scope == "account" else \
        "/admin/markets/ZRX-WETH/orders/cancel"
    cancelled, cursor, calls = [], None, 0
    while True:
        r = op(client, path, {"reason": "wind down", "limit": 2, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.body
        calls += 1
        assert len(body(r)["cancelled"]) <= 2
        cancelled += body(r)["cancelled"]
        cursor = body(r)["cursor"]
        if cursor is None:
            break
        assert calls < 10
    assert len(cancelled) == (5 if scope == "account" else 6) == len(set(cancelled))
    still_open = {o.source for o in Order.book.query("ZRX-WETH", consistent_read=True)}
    assert still_open == ({addr(BOB)} if scope == "account" else set())
    audit_ok()


@pytest.mark.parametrize("payload", [{"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"},
                                     {"cursor": "eyJhIjogMX0="}, {"limit": "two"}])
def test_bad_cancel_pages_are_refused(client, market, payload):
    before = table_snapshot()
    r = op(client, "/admin/markets/ZRX-WETH/orders/cancel", {"reason": "x", **payload})
    assert r.status_code == 400, r.body
    assert table_snapshot() == before


# -- deposits ---------------------------------------------------------------------------------

def test_reject_a_new_deposit_then_it_is_never_credited(client, market):
    post(client, "/admin/deposits", {"coin": "ZRX", "txid": "sus", "address": addr(BOB), "quantity": 7})
    r = op(client, "/admin/deposits/ZRX/sus/0/reject")
    assert r.status_code == 200 and body(r)["status"] == "inv" and "ticket 42" in body(r)["error"]
    scheduler.run(market)
    assert all(b["asset"] != "ZRX" for b in body(client.http.get(f"/addresses/{addr(BOB)}/balances")))
    before = table_snapshot()
    assert op(client, "/admin/deposits/ZRX/sus/0/reject").status_code == 409
    assert table_snapshot() == before
    audit_ok()


def test_refund_a_credited_deposit_takes_it_back_and_sends_it_once(client, market):
    post(client, "/admin/deposits", {"coin": "ZRX", "txid": "oops", "address": addr(BOB), "quantity": 7 * E18})
    scheduler.run(market)
    destination = "0x" + "cd" * 20
    r = op(client, "/admin/deposits/ZRX/oops/0/refund", {"reason": "sent by mistake", "address": destination})
    assert r.status_code == 200, r.body
    refunded = body(r)
    assert refunded["status"] == "refund" and refunded["refund_address"] == destination and refunded["refund_txid"]
    sent = chain.outbox("deposit_refund:ZRX#oops#0")
    assert (sent.to_address, sent.quantity, sent.txid) == (destination, 7 * E18, refunded["refund_txid"])
    zrx = [b for b in body(client.http.get(f"/addresses/{addr(BOB)}/balances")) if b["asset"] == "ZRX"]
    assert zrx == [] or zrx[0]["quantity"] == 0
    again = op(client, "/admin/deposits/ZRX/oops/0/refund", {"reason": "retry", "address": destination})
    assert again.status_code == 200 and body(again)["refund_txid"] == refunded["refund_txid"]
    assert op(client, "/admin/deposits/ZRX/oops/0/refund", {"reason": "x", "address": "0x" + "ef" * 20}
              ).status_code == 409
    transfers = body(client.http.get("/admin/transfers?coin=ZRX", headers=ADMIN))["items"]
    assert [t["id"] for t in transfers] == ["deposit_refund:ZRX#oops#0"]
    audit_ok()


def test_a_refund_whose_send_fails_is_recorded_and_the_same_request_sends_it(client, market):
    post(client, "/admin/deposits", {"coin": "ZRX", "txid": "late", "address": addr(BOB), "quantity": 9})

    class Down:
        def send(self, *args):
            raise chain.ChainError("node unreachable")

    chain.use(Down())
    try:
        r = op(client, "/admin/deposits/ZRX/late/0/refund", {"reason": "x", "address": "0x" + "cd" * 20})
        assert r.status_code == 503, r.body
    finally:
        chain.use(None)
    r = op(client, "/admin/deposits/ZRX/late/0/refund", {"reason": "x", "address": "0x" + "cd" * 20})
    assert r.status_code == 200 and body(r)["refund_txid"], r.body
    audit_ok()


@pytest.mark.parametrize("payload, status", [
    ({"address": "not-an-address"}, 400), ({}, 400), ({"address": "0x" + "cd" * 20, "memo": "m"}, 400),
])
def test_bad_refunds_are_refused(client, market, payload, status):
    post(client, "/admin/deposits", {"coin": "ZRX", "txid": "t9", "address": addr(BOB), "quantity": 9})
    before = table_snapshot()
    r = op(client, "/admin/deposits/ZRX/t9/0/refund", {"reason": "x", **payload})
    assert r.status_code == status, r.body
    assert table_snapshot() == before


# -- listings ----------------------------------------------------------------------------------

def test_withdrawals_listed_newest_first_filtered_and_paged(client, market):
    key = coinbtr_key(client, addr(BOB))["key"]
    for n in range(3):
        market.advance(1)
        w = coinbtr(client, key, "/api/v1/wallet/withdraw",
                    {"coin": "WETH", "address": "0x" + "ab" * 20, "amount": f"0.{n + 1}"})
        assert w.status_code == 200, w.body
    first = body(client.http.get("/admin/withdrawals?limit=2", headers=ADMIN))
    assert [w["quantity"] for w in first["items"]] == [3 * E18 // 10, 2 * E18 // 10] and first["cursor"]
    rest = body(client.http.get(f"/admin/withdrawals?limit=2&cursor={first['cursor']}", headers=ADMIN))
    assert [w["quantity"] for w in rest["items"]] == [E18 // 10]
    by_account = body(client.http.get(f"/admin/withdrawals?account={addr(BOB)}&status=pending", headers=ADMIN))
    assert len(by_account["items"]) == 3 and by_account["cursor"] is None
    assert body(client.http.get("/admin/withdrawals?status=sent", headers=ADMIN))["items"] == []
    scheduler.run(market)
    sent = body(client.http.get("/admin/withdrawals?status=sent&coin=weth", headers=ADMIN))["items"]
    assert len(sent) == 3 and all(w["txid"] for w in sent)
    assert len(body(client.http.get("/admin/transfers", headers=ADMIN))["items"]) == 3


def test_orders_listed_by_account_and_by_market(client, market):
    key = coinbtr_key(client, addr(ALICE))["key"]
    ids = [body(sell_on_coinbtr(client, key))["data"]["id"] for _ in range(3)]
    op(client, f"/admin/orders/{ids[0]}/cancel")
    mine = body(client.http.get(f"/admin/orders?account={addr(ALICE)}", headers=ADMIN))["items"]
    assert {o["tx_hash"] for o in mine} == set(ids)
    cancelled = body(client.http.get(f"/admin/orders?account={addr(ALICE)}&status=cancelled", headers=ADMIN))
    assert [o["tx_hash"] for o in cancelled["items"]] == [ids[0]]
    book = body(client.http.get("/admin/orders?market=ZRX-WETH", headers=ADMIN))["items"]
    assert {o["tx_hash"] for o in book} == set(ids[1:])


FORGED = base64.urlsafe_b64encode(json.dumps(  # the right key names, a string where a number goes
    {"created_us": {"S": "1"}, "id": {"S": "x"}, "kind": {"S": "withdrawal"}}).encode()).decode()
OTHER_LISTING = base64.urlsafe_b64encode(json.dumps(  # the right shape, another listing's hash key
    {"created_us": {"N": "1"}, "id": {"S": "x"}, "kind": {"S": "transfer"}}).encode()).decode()
BAD_LISTINGS = [
    f"/admin/withdrawals?cursor={FORGED}", f"/admin/withdrawals?cursor={OTHER_LISTING}",
    "/admin/withdrawals?status=lost", "/admin/withdrawals?limit=0", "/admin/withdrawals?limit=101",
    "/admin/withdrawals?cursor=zzz", "/admin/withdrawals?colour=red", "/admin/conversions?status=done",
    "/admin/conversions?cursor=e30=", "/admin/transfers?limit=x", "/admin/actions", "/admin/actions?operator=a%20b",
    "/admin/orders", "/admin/orders?account=a&market=ZRX-WETH", "/admin/orders?account=a&status=gone",
    "/admin/orders?market=NOPE-X",
]


def test_bad_listing_parameters_are_4xx(client, market):
    for path in BAD_LISTINGS:
        r = client.http.get(path, headers=ADMIN)
        assert 400 <= r.status_code < 500, (path, r.body)
        assert "error" in body(r)
    for path in ("/admin/withdrawals", "/admin/conversions", "/admin/transfers", "/admin/actions?operator=x",
                 "/admin/orders?market=ZRX-WETH"):
        assert client.http.get(path).status_code == 401


def test_conversions_listing_pages_by_status(client, ledger):
    from tests.api.wallet_setup import make_coins

    make_coins(client)
    r = client.http.post("/api/convert", headers={"Content-Type": "application/json", "Host": "127.0.0.1:8000"},
                         body=json.dumps({"from_coin": "LTC", "to_coin": "SGTK", "destination": "someone"}))
    assert r.status_code in (200, 201), r.body
    address = body(r)["address"]
    post(client, "/admin/deposits", {"coin": "LTC", "txid": "c1", "address": address, "amount": "0.1"})
    scheduler.run(ledger)
    listed = body(client.http.get("/admin/conversions?from_coin=ltc", headers=ADMIN))
    assert len(listed["items"]) == 1 and listed["items"][0]["to_coin"] == "SGTK"
    status = listed["items"][0]["status"]
    assert len(body(client.http.get(f"/admin/conversions?status={status}", headers=ADMIN))["items"]) == 1
    other = next(s for s in ("queued", "sending", "sent") if s != status)
    assert body(client.http.get(f"/admin/conversions?status={other}", headers=ADMIN))["items"] == []
