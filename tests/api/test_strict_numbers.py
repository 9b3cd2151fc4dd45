"""Issue 10, item 7: numbers are ASCII digits of bounded length, never booleans; 0x uint256
fields are bounded before any arithmetic. Each case is the dialect's 4xx and changes nothing."""

from __future__ import annotations

import json

import pytest

from chalicelib.auth.ethereum import OrderError
from tests.api.relayer_helpers import ALICE, WETH, ZRX, addr, fund, make_order, setup_market
from tests.support import post, table_snapshot

ARABIC_12 = "\u0661\u0662"  # '١٢': str.isdigit() and int() take it, a number field must not
HUGE = "9" * 5000  # beyond int()'s 4300-digit limit
UINT256_MAX = str(2**256 - 1)


@pytest.fixture
def coinbtr(client, ledger):
    for name in ("ZRX", "WETH"):
        assert post(client, "/admin/assets", {"name": name, "decimals": 8}).status_code == 201
    assert post(client, "/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH", "fee": "0"}
                ).status_code == 201
    r = post(client, "/admin/apikeys", {"account": "num", "scopes": ["read", "trade", "withdraw"]})
    key = json.loads(r.body)["key"]
    for coin in ("ZRX", "WETH"):
        post(client, "/admin/deposits", {"coin": coin, "txid": f"f-{coin}", "address": "num", "amount": "100"})
    from chalicelib.events import scheduler

    scheduler.run(ledger)
    return {"Authorization": f"Token {key}", "Content-Type": "application/json"}


COINBTR_CASES = [
    ("/api/v1/trading/place/selllimit", {"market": "ZRX-WETH", "price": "0.5", "amount": HUGE}),
    ("/api/v1/trading/place/selllimit", {"market": "ZRX-WETH", "price": HUGE, "amount": "1"}),
    ("/api/v1/trading/place/selllimit", {"market": "ZRX-WETH", "price": "0." + HUGE, "amount": "1"}),
    ("/api/v1/trading/place/selllimit", {"market": "ZRX-WETH", "price": "0.5", "amount": ARABIC_12}),
    ("/api/v1/trading/place/selllimit", {"market": "ZRX-WETH", "price": ARABIC_12, "amount": "1"}),
    ("/api/v1/trading/place/selllimit", {"market": "ZRX-WETH", "price": "0.5", "amount": True}),
    ("/api/v1/trading/place/buylimit", {"market": "ZRX-WETH", "price": True, "amount": "1"}),
    ("/api/v1/trading/place/buylimit", {"market": "ZRX-WETH", "price": 1e308, "amount": "1"}),
    ("/api/v1/trading/place/buylimit", {"market": "ZRX-WETH", "price": "1e5", "amount": "1"}),
    ("/api/v1/wallet/withdraw", {"coin": "ZRX", "address": "0x" + "ab" * 20, "amount": ARABIC_12}),
    ("/api/v1/wallet/withdraw", {"coin": "ZRX", "address": "0x" + "ab" * 20, "amount": HUGE}),
    ("/api/v1/wallet/withdraw", {"coin": "ZRX", "address": "0x" + "ab" * 20, "amount": True}),
]


@pytest.mark.parametrize(("path", "payload"), COINBTR_CASES)
def test_coinbtr_numbers(client, coinbtr, path, payload):
    before = table_snapshot()
    response = client.http.post(path, headers=coinbtr, body=json.dumps(payload))
    assert 400 <= response.status_code < 500, response.body
    assert json.loads(response.body)["success"] is False
    assert table_snapshot() == before


ADMIN_CASES = [
    ("/admin/assets", {"name": "X", "decimals": True}),
    ("/admin/assets", {"name": "X", "asset_id": True}),
    ("/admin/assets", {"name": "X", "supply": True}),
    ("/admin/assets", {"name": "X", "supply": ARABIC_12}),
    ("/admin/assets", {"name": "X", "confirmations_required": True}),
    ("/admin/assets", {"name": "X", "network_fee": HUGE}),
    ("/admin/markets", {"id": "A-B", "base": "A", "quote": "B", "fee": HUGE}),
    ("/admin/markets", {"id": "A-B", "base": "A", "quote": "B", "fee": True}),
    ("/admin/markets", {"id": "A-B", "base": "A", "quote": "B", "fee": "1e999999999"}),
    ("/admin/markets", {"id": "A-B", "base": "A", "quote": "B", "fee": ARABIC_12}),
    ("/admin/deposits", {"coin": "A", "txid": "t", "address": "a", "amount": HUGE}),
    ("/admin/deposits", {"coin": "A", "txid": "t", "address": "a", "quantity": True}),
    ("/admin/deposits", {"coin": "A", "txid": "t", "address": "a", "amount": "1", "vout": True}),
]


@pytest.mark.parametrize(("path", "payload"), ADMIN_CASES)
def test_admin_numbers(client, ledger, path, payload):
    for name in ("A", "B"):
        post(client, "/admin/assets", {"name": name, "decimals": 8})
    before = table_snapshot()
    response = post(client, path, payload)
    assert 400 <= response.status_code < 500, response.body
    assert "error" in json.loads(response.body)
    assert table_snapshot() == before


@pytest.mark.parametrize("overrides", [
    {"salt": str(2**256)},
    {"makerFee": str(2**256)},
    {"makerTokenAmount": ARABIC_12},
    {"makerTokenAmount": True},
    {"makerTokenAmount": "9" * 90},
])
def test_zeroex_uint256_fields(client, ledger, overrides):
    setup_market(ledger)
    fund(ledger, addr(ALICE), "ZRX", 10**18)
    try:  # signed as it is where it is a uint256 (the expiry cases reach placement)
        order = make_order(ALICE, ZRX, 10**18, WETH, 10**17, ledger, **overrides)
    except OrderError:  # beyond uint256: no signature can cover it, the range check comes first
        order = {**make_order(ALICE, ZRX, 10**18, WETH, 10**17, ledger), **overrides}
    before = table_snapshot()
    response = client.http.post("/v0/order", headers={"Content-Type": "application/json"}, body=json.dumps(order))
    assert response.status_code == 400, response.body
    assert json.loads(response.body)["error"]["code"] in (100, 101)
    assert table_snapshot() == before


@pytest.mark.parametrize("expiry", [UINT256_MAX, str(10**40)])
def test_a_zeroex_order_that_never_expires_is_placed_with_its_signed_expiry(client, ledger, expiry):
    """A far-future expiry (2^256-1 is 0x's "never") is a valid signed order: placed, its
    signed fields served as signed, the ledger's expiry capped to fit a DynamoDB number."""
    setup_market(ledger)
    fund(ledger, addr(ALICE), "ZRX", 10**18)
    order = make_order(ALICE, ZRX, 10**18, WETH, 10**17, ledger, expirationUnixTimestampSec=expiry)
    response = client.http.post("/v0/order", headers={"Content-Type": "application/json"}, body=json.dumps(order))
    assert response.status_code == 201, response.body
    served = json.loads(client.http.get(f"/v0/order/{json.loads(response.body)['orderHash']}").body)
    assert served["expirationUnixTimestampSec"] == expiry


def test_sorted_and_unfiltered_lists_read_a_bounded_number_of_items(client, ledger):
    """Issue 10, item 10: Counterparty `sort=` and an unfiltered SRA `/v0/orders` read at most
    a bounded number of items (they read the whole list before)."""
    from tests import support

    setup_market(ledger)
    limits = []

    def watch(operation, params):
        if operation == "Query":
            limits.append(params.get("Limit"))

    with support.hook(watch):
        assert client.http.get("/assets/ZRX/balances?sort=-quantity").status_code == 200
        assert client.http.get("/assets/ZRX/orders?status=all&sort=tx_index").status_code == 200
    assert limits and all(limit is not None and limit <= 5000 for limit in limits), limits
    from chalicelib.api import relayer

    assert relayer.MAX_SRA_READ == 2000
    fund(ledger, addr(ALICE), "ZRX", 10**20)
    for salt in range(5):
        order = make_order(ALICE, ZRX, 10**18, WETH, 10**17, ledger, salt=salt + 1)
        assert client.http.post("/v0/order", headers={"Content-Type": "application/json"},
                                body=json.dumps(order)).status_code == 201
    original = relayer.MAX_SRA_READ
    relayer.MAX_SRA_READ = 3
    try:
        assert len(json.loads(client.http.get("/v0/orders").body)) == 3
    finally:
        relayer.MAX_SRA_READ = original
    assert len(json.loads(client.http.get("/v0/orders").body)) == 5
