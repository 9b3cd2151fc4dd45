"""Matches with an externally settled asset (Counterparty's BTC): pending until paid by
an observed transfer that names the match, or expired at match_expire_index with both
orders re-opened."""

from __future__ import annotations

import json

import pytest

from chalicelib.events import scheduler
from chalicelib.ledger import orders
from chalicelib.ledger.models import OrderMatch
from tests.support import audit_ok, post


def body(response):
    return json.loads(response.body)


@pytest.fixture
def xcp_btc(client, ledger):
    assert post(client, "/admin/assets", {"name": "XCP", "decimals": 8}).status_code == 201
    assert post(client, "/admin/assets", {"name": "BTC", "decimals": 8, "settlement": "external"}).status_code == 201
    assert post(client, "/admin/markets", {"id": "XCP-BTC", "base": "XCP", "quote": "BTC"}).status_code == 201
    post(client, "/admin/deposits", {"coin": "XCP", "txid": "fund", "address": "seller", "quantity": 10**8})
    scheduler.run(ledger)
    # seller gives 1 XCP for 0.008 BTC (escrowed XCP); buyer gives BTC, which the ledger does not hold
    sell, _ = orders.place_order(orders.OrderRequest("seller", "XCP", 10**8, "BTC", 800_000, expiration=100), ledger)
    ledger.advance(1)
    buy, _ = orders.place_order(orders.OrderRequest("buyer", "BTC", 800_000, "XCP", 10**8, expiration=100), ledger)
    scheduler.run(ledger)
    match_id = f"{sell.tx_hash}_{buy.tx_hash}"
    return sell, buy, match_id


def xcp(client, address):
    rows = {r["asset"]: r["quantity"] for r in body(client.http.get(f"/addresses/{address}/balances"))}
    return rows.get("XCP", 0)


def test_a_match_with_btc_waits_for_the_payment(client, ledger, xcp_btc):
    sell, buy, match_id = xcp_btc
    pending = body(client.http.get(f"/orders/{sell.tx_hash}/matches"))  # default status=pending
    assert [m["id"] for m in pending] == [match_id]
    assert pending[0]["match_expire_index"] == pending[0]["block_index"] + 20
    assert xcp(client, "buyer") == 0 and xcp(client, "seller") == 0  # the XCP is held in escrow
    short = post(client, "/admin/deposits", {"coin": "BTC", "txid": "btc-1", "address": "seller-btc",
                                             "quantity": 799_999, "match_id": match_id})
    assert short.status_code == 201
    scheduler.run(ledger)
    assert OrderMatch.get(match_id).status == "pending"
    post(client, "/admin/deposits", {"coin": "BTC", "txid": "btc-2", "address": "seller-btc",
                                     "quantity": 800_000, "match_id": match_id})
    scheduler.run(ledger)
    assert body(client.http.get(f"/orders/{sell.tx_hash}/matches?status=completed"))[0]["id"] == match_id
    assert xcp(client, "buyer") == 10**8
    audit_ok()


def test_an_unpaid_match_expires_and_both_orders_reopen(client, ledger, xcp_btc):
    sell, buy, match_id = xcp_btc
    assert body(client.http.get(f"/orders/{sell.tx_hash}"))[0]["status"] == "filled"
    ledger.advance(21 * 10)  # 21 blocks of 10 s
    scheduler.run(ledger)
    assert body(client.http.get(f"/orders/{sell.tx_hash}/matches?status=expired"))[0]["id"] == match_id
    for order in (sell, buy):
        row = body(client.http.get(f"/orders/{order.tx_hash}"))[0]
        assert row["status"] == "open" and row["give_remaining"] == row["give_quantity"]
    scheduler.run(ledger)  # the two never match again
    assert len(body(client.http.get(f"/orders/{sell.tx_hash}/matches?status=all"))) == 1
    assert xcp(client, "seller") == 0  # still escrowed by the re-opened order
    orders.cancel_order(sell.tx_hash, "seller", ledger)
    assert xcp(client, "seller") == 10**8
    audit_ok()


def test_paying_an_unknown_or_settled_match_ends_inv(client, ledger, xcp_btc):
    _, _, match_id = xcp_btc
    post(client, "/admin/deposits", {"coin": "BTC", "txid": "x1", "address": "a", "quantity": 1, "match_id": "nope"})
    post(client, "/admin/deposits", {"coin": "XCP", "txid": "x2", "address": "a", "quantity": 1,
                                     "match_id": match_id})
    scheduler.run(ledger)
    for txid, reason in (("x1", "no order match"), ("x2", "paid in BTC")):
        coin = "BTC" if txid == "x1" else "XCP"
        row = body(client.http.get(f"/admin/deposits/{coin}/{txid}/0",
                                   headers={"Authorization": "Bearer test-admin-token"}))
        assert row["status"] == "inv" and reason in row["error"]
    audit_ok()
