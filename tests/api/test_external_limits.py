"""Issue 10, item 4: orders on an externally settled side (BTC, nothing escrowed) are limited
per account, and a match that expires unpaid costs its defaulter its access to them. Before,
a zero-balance account could lock every seller's escrow in pending matches, repeatably."""

from __future__ import annotations

import json

import pytest

from chalicelib.events import scheduler
from chalicelib.ledger import orders
from chalicelib.ledger.external_limits import ExternalLimit
from chalicelib.ledger.models import Order, OrderMatch
from tests.support import allow_scans, audit_ok, post, table_snapshot


@pytest.fixture
def xcp_btc(client, ledger):
    assert post(client, "/admin/assets", {"name": "XCP", "decimals": 8}).status_code == 201
    assert post(client, "/admin/assets", {"name": "BTC", "decimals": 8, "settlement": "external"}).status_code == 201
    assert post(client, "/admin/markets", {"id": "XCP-BTC", "base": "XCP", "quote": "BTC"}).status_code == 201
    post(client, "/admin/deposits", {"coin": "XCP", "txid": "fund", "address": "seller", "quantity": 100 * 10**8})
    scheduler.run(ledger)
    return ledger


def sell(clock, n=1):
    return [orders.place_order(orders.OrderRequest("seller", "XCP", 10**8, "BTC", 800_000, expiration=500),
                               clock)[0] for _ in range(n)]


def buy(clock, who="attacker", tx_hash=None):
    return orders.place_order(orders.OrderRequest(who, "BTC", 800_000, "XCP", 10**8, expiration=500,
                                                  tx_hash=tx_hash), clock)[0]


def test_open_orders_giving_btc_are_limited_per_account(client, xcp_btc):
    clock = xcp_btc
    placed = [buy(clock) for _ in range(3)]  # resting: no seller yet
    with pytest.raises(ExternalLimit, match="3 open orders"):
        buy(clock)
    assert buy(clock, tx_hash=placed[0].tx_hash).tx_hash == placed[0].tx_hash  # a retry is not refused
    buy(clock, who="someone-else")  # per account
    orders.cancel_order(placed[0].tx_hash, "attacker", clock)
    buy(clock)  # room again
    # selling XCP (a ledger asset, escrowed) is never limited
    post(client, "/admin/deposits", {"coin": "XCP", "txid": "a-xcp", "address": "attacker", "quantity": 10**9})
    scheduler.run(clock)


def test_pending_matches_to_pay_are_limited_and_a_default_locks_the_defaulter_out(client, xcp_btc):
    clock = xcp_btc
    sell(clock, 6)
    clock.advance(1)
    for _ in range(3):
        buy(clock)
        scheduler.run(clock)  # each buy matches a sell: a pending match waiting for attacker's BTC
    with pytest.raises(ExternalLimit, match="3 matches waiting"):
        buy(clock)
    # the zero-balance attacker locked 3 XCP of the seller's escrow, and no more
    assert len(list(OrderMatch.pending_by_market.query("XCP-BTC"))) == 3

    clock.advance(21 * 10)  # 21 blocks: the matches expire unpaid
    scheduler.run(clock)
    with pytest.raises(ExternalLimit, match="unpaid"):
        buy(clock)
    with allow_scans():
        assert len([o for o in Order.scan() if o.source == "attacker"]) == 3  # nothing was placed
    buy(clock, who="honest-buyer")  # others still trade
    clock.advance(86_400)
    buy(clock)  # the default counts for a day
    audit_ok()


def test_the_limit_is_the_dialects_4xx(client, xcp_btc, monkeypatch):
    clock = xcp_btc
    monkeypatch.setenv("LAMBDEX_EXTERNAL_MAX_OPEN_ORDERS", "0")
    key = json.loads(post(client, "/admin/apikeys", {"account": "attacker", "scopes": ["trade"]}).body)["key"]
    before = table_snapshot()
    response = client.http.post("/api/v1/trading/place/buylimit", headers={
        "Authorization": f"Token {key}", "Content-Type": "application/json"},
        body=json.dumps({"market": "XCP-BTC", "price": "0.008", "amount": "1"}))
    assert response.status_code == 403 and json.loads(response.body)["success"] is False, response.body
    assert table_snapshot() == before
    assert clock
