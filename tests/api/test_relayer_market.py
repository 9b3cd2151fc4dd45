"""Markets, order book, matching through the shared engine, history, and the SRA v0 routes."""

from __future__ import annotations

from fractions import Fraction

import pytest

from chalicelib.ledger import balances, orders, settlement
from chalicelib.ledger.models import OrderMatch
from chalicelib.ledger.orders import OrderRequest
from tests.api.relayer_helpers import (
    ALICE,
    BOB,
    CAROL,
    E18,
    NULL,
    WETH,
    ZRX,
    addr,
    error_of,
    fund,
    get,
    make_order,
    order_hash,
    post,
    setup_market,
    token_for,
)


@pytest.fixture
def market(client, ledger):
    setup_market(ledger, fee="0.001", min_amount=E18)
    for account in (ALICE, BOB, CAROL):
        fund(ledger, addr(account), "ZRX", 1000 * E18)
        fund(ledger, addr(account), "WETH", 10 * E18)
    return ledger


def sell(account, zrx: int, weth_per_zrx: Fraction, clock, **kw) -> dict:
    """`zrx` whole ZRX for WETH at `weth_per_zrx`."""
    return make_order(account, ZRX, zrx * E18, WETH, int(zrx * E18 * weth_per_zrx), clock, **kw)


def buy(account, zrx: int, weth_per_zrx: Fraction, clock, **kw) -> dict:
    return make_order(account, WETH, int(zrx * E18 * weth_per_zrx), ZRX, zrx * E18, clock, **kw)


def submit(client, order: dict) -> dict:
    response = post(client, "/v0/order", order)
    assert response.status_code == 201, response.body
    return response.json_body


def test_crossing_makers_match_through_the_engine(client, market):
    ask = submit(client, sell(ALICE, 100, Fraction(1, 1000), market))
    market.advance(1)
    bid = submit(client, buy(BOB, 100, Fraction(1, 1000), market))
    report = settlement.match_market("ZRX-WETH", market)
    assert report.fills == 1
    match = OrderMatch.get(f"{ask['orderHash']}_{bid['orderHash']}", consistent_read=True)
    assert (match.tx0_address, match.tx1_address) == (addr(ALICE), addr(BOB))
    assert (match.forward_asset, match.forward_quantity) == ("ZRX", 100 * E18)
    assert (match.backward_asset, match.backward_quantity) == ("WETH", E18 // 10)
    assert match.status == "completed"
    # The same match through the Counterparty dialect, from either order.
    for tx_hash in (ask["orderHash"], bid["orderHash"]):
        rows = get(client, f"/orders/{tx_hash}/matches?status=completed").json_body
        assert [r["id"] for r in rows] == [match.id]
    # Alice's history: filled, takerTokenAmountFilled = the WETH she asked for.
    history = get(client, "/v0/orderHistory", token_for(client, ALICE)).json_body
    assert [(o["orderHash"], o["status"], o["takerTokenAmountFilled"], o["makerTokenRemaining"]) for o in history] \
        == [(ask["orderHash"], "filled", str(E18 // 10), "0")]
    bob_history = get(client, "/v0/orderHistory", token_for(client, BOB)).json_body
    assert bob_history[0]["status"] == "filled" and bob_history[0]["takerTokenAmountFilled"] == str(100 * E18)
    assert get(client, "/v0/openOrders", token_for(client, ALICE)).json_body == []
    # Balances: Bob got 100 ZRX less the 0.1% fee, Alice got 0.1 WETH.
    assert balances.get_balance(addr(BOB), "ZRX", consistent=True).available == 1100 * E18 - E18 // 10
    assert balances.get_balance(addr(ALICE), "WETH", consistent=True).available == 10 * E18 + E18 // 10
    # /v0/markets shows the trade.
    row = get(client, "/v0/markets").json_body[0]
    assert row["price"] == pytest.approx(0.001) and row["price24h"] == pytest.approx(0.001)
    assert row["tradeTokenVolume"] == "100.000000000000000000"
    assert row["baseTokenVolume"] == "0.100000000000000000"
    assert get(client, "/v0/orderbook?pair=ZRX-WETH").json_body == {"bids": [], "asks": []}


def test_markets_shape_follows_the_spec_example(client, market):
    (row,) = get(client, "/v0/markets").json_body
    assert row == {
        "id": 1, "marketId": "ZRX-WETH", "name": "0xProject", "url": "https://0xproject.com/",
        "baseToken": WETH, "tradeToken": ZRX,  # the spec's example: baseToken is WETH
        "price24h": 0, "price": 0, "tradeTokenVolume": "0.000000000000000000",
        "baseTokenVolume": "0.000000000000000000", "decimals": 18, "miniAmount": 1.0, "fee": 0.001,
    }


def test_volume_window_is_24_hours(client, market):
    submit(client, sell(ALICE, 10, Fraction(1, 1000), market))
    submit(client, buy(BOB, 10, Fraction(1, 1000), market))
    settlement.match_market("ZRX-WETH", market)
    market.advance(25 * 3600)
    submit(client, sell(ALICE, 10, Fraction(2, 1000), market, salt=2))
    submit(client, buy(BOB, 10, Fraction(2, 1000), market, salt=2))
    settlement.match_market("ZRX-WETH", market)
    row = get(client, "/v0/markets").json_body[0]
    assert row["price"] == pytest.approx(0.002) and row["price24h"] == pytest.approx(0.001)
    assert row["tradeTokenVolume"] == "10.000000000000000000"


def test_taker_restricted_order_is_filled_only_by_its_taker(client, market):
    ask = submit(client, sell(ALICE, 10, Fraction(1, 1000), market, taker=addr(BOB)))
    carol = submit(client, buy(CAROL, 10, Fraction(1, 1000), market))
    assert settlement.match_market("ZRX-WETH", market).fills == 0
    bob = submit(client, buy(BOB, 10, Fraction(1, 1000), market))
    assert settlement.match_market("ZRX-WETH", market).fills == 1
    assert orders.get_order(ask["orderHash"]).status == "filled"
    assert orders.get_order(bob["orderHash"]).status == "filled"
    assert orders.get_order(carol["orderHash"]).status == "open"


def test_orderbook_sorting_and_shape(client, market):
    a1 = submit(client, sell(ALICE, 10, Fraction(3, 1000), market))
    a2 = submit(client, sell(BOB, 10, Fraction(2, 1000), market))
    # Same price as a2, later expiry: after a2. Same price, lower fees: first.
    a3 = submit(client, sell(CAROL, 10, Fraction(2, 1000), market, expires_in=7200))
    a4 = submit(client, sell(CAROL, 10, Fraction(2, 1000), market, salt=9, makerFee="0", takerFee="0",
                             expires_in=9000))
    b1 = submit(client, buy(ALICE, 10, Fraction(1, 1000), market))
    b2 = submit(client, buy(BOB, 10, Fraction(15, 10000), market))
    book = get(client, "/v0/orderbook?pair=ZRX-WETH").json_body
    assert [o["orderHash"] for o in book["bids"]] == [b2["orderHash"], b1["orderHash"]]
    assert [o["orderHash"] for o in book["asks"]][-1] == a1["orderHash"]
    assert [o["price"] for o in book["asks"]] == sorted(o["price"] for o in book["asks"])
    assert [o["orderHash"] for o in book["asks"]][:3] == [a2["orderHash"], a3["orderHash"], a4["orderHash"]]
    order = book["bids"][0]
    assert set(order) == {
        "id", "maker", "taker", "makerTokenAddress", "takerTokenAddress", "feeRecipient",
        "exchangeContractAddress", "salt", "makerTokenAmount", "takerTokenAmount", "makerFee", "takerFee",
        "expirationUnixTimestampSec", "takerTokenAmountFilled", "takerTokenAmountCancelled", "status",
        "makerTokenRemaining", "takerTokenRemaining", "makerLockedAmount", "takerLockedAmount", "price", "pair",
        "side", "orderHash", "createdTime", "updatedTime"}
    assert order["side"] == "buy" and order["makerTokenAddress"] == WETH and order["status"] == "activity"
    assert order["price"] == pytest.approx(0.0015) and isinstance(order["expirationUnixTimestampSec"], int)
    assert order["createdTime"].endswith("+00:00") and "T" in order["createdTime"]
    # The same book by token address (ZRX trades in one market), with paging.
    assert get(client, f"/v0/orderbook?pair={ZRX}").json_body == book
    paged = get(client, "/v0/orderbook?pair=ZRX-WETH&page=2&perPage=2").json_body
    assert [o["orderHash"] for o in paged["asks"]] == [a4["orderHash"], a1["orderHash"]]
    assert paged["bids"] == []


def test_fee_ties_sort_lower_total_fees_first(client, market):
    expensive = submit(client, sell(ALICE, 10, Fraction(2, 1000), market, makerFee="5"))
    cheap = submit(client, sell(BOB, 10, Fraction(2, 1000), market, makerFee="1"))
    asks = get(client, "/v0/orderbook?pair=ZRX-WETH").json_body["asks"]
    assert [o["orderHash"] for o in asks] == [cheap["orderHash"], expensive["orderHash"]]


def test_other_dialects_orders_stay_off_0x_routes_but_trade_against_0x_orders(client, market):
    fund(market, addr(ALICE), "ZRX", 10 * E18)
    plain, _ = orders.place_order(OrderRequest(source=addr(ALICE), give_asset="ZRX", give_quantity=5 * E18,
                                               get_asset="WETH", get_quantity=E18 // 200), market)
    hidden = {"bids": [], "asks": []}
    assert get(client, "/v0/orderbook?pair=ZRX-WETH").json_body == hidden
    assert get(client, f"/v0/orderbook?baseTokenAddress={ZRX}&quoteTokenAddress={WETH}").json_body == hidden
    assert get(client, "/v0/orders").json_body == []
    assert get(client, f"/v0/order/{plain.tx_hash}").status_code == 404
    assert get(client, "/v0/openOrders", token_for(client, ALICE)).json_body == []
    assert get(client, "/v0/orderHistory", token_for(client, ALICE)).json_body == []
    # a 0x ask of the same maker shows; the plain order, though better priced, does not
    signed = submit(client, sell(ALICE, 2, Fraction(2, 1000), market))
    (ask,) = get(client, "/v0/orderbook?pair=ZRX-WETH").json_body["asks"]
    assert ask["orderHash"] == signed["orderHash"]
    assert [o["orderHash"] for o in get(client, "/v0/openOrders", token_for(client, ALICE)).json_body] \
        == [signed["orderHash"]]
    # the CoinBTR book and the Counterparty views show every order
    book = get(client, "/market/getorderbook?market=ZRX-WETH").json_body["data"]
    assert [level["amount"] for level in book["asks"]] == [5.0, 2.0]
    assert get(client, f"/orders/{plain.tx_hash}").json_body[0]["give_remaining"] == 5 * E18
    # and a signed 0x bid trades against the plain ask first (best price, one book)
    market.advance(1)
    bid = submit(client, buy(BOB, 5, Fraction(1, 1000), market))
    settlement.match_market("ZRX-WETH", market)
    match = OrderMatch.get(f"{plain.tx_hash}_{bid['orderHash']}", consistent_read=True)
    assert (match.forward_asset, match.forward_quantity) == ("ZRX", 5 * E18)
    assert get(client, f"/orders/{plain.tx_hash}").json_body[0]["status"] == "filled"


@pytest.mark.parametrize(("query", "field", "code"), [
    ("", "pair", 1000),
    ("?pair=NOPE-WETH", "pair", 1003),
    ("?pair=0x" + "ab" * 20, "pair", 1003),
    ("?pair=ZRX-WETH&page=0", "page", 1004),
    ("?pair=ZRX-WETH&perPage=101", "perPage", 1004),
    ("?pair=ZRX-WETH&per_page=abc", "perPage", 1001),
    (f"?baseTokenAddress={ZRX}", "quoteTokenAddress", 1000),
    ("?baseTokenAddress=0x12&quoteTokenAddress=0x34", "baseTokenAddress", 1002),
])
def test_orderbook_errors(client, market, query, field, code):
    response = get(client, "/v0/orderbook" + query)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == 100 and error["validationErrors"][0]["field"] == field
    assert error["validationErrors"][0]["code"] == code


def test_private_list_filters_and_errors(client, market):
    first = submit(client, sell(ALICE, 10, Fraction(3, 1000), market))
    market.advance(1)
    second = submit(client, buy(ALICE, 10, Fraction(1, 1000), market))
    alice = token_for(client, ALICE)
    rows = get(client, "/v0/openOrders", alice).json_body
    assert [r["orderHash"] for r in rows] == [second["orderHash"], first["orderHash"]]  # newest first
    assert rows[0]["txId"] == "" and rows[0]["txAmount"] == ""
    assert [r["orderHash"] for r in get(client, f"/v0/openOrders?makerTokenAddress={ZRX}", alice).json_body] \
        == [first["orderHash"]]
    assert len(get(client, f"/v0/openOrders?tokenAddress={WETH}", alice).json_body) == 2
    assert len(get(client, f"/v0/orderHistory?pair={ZRX}", alice).json_body) == 2
    assert [r["orderHash"] for r in get(client, "/v0/orderHistory?page=2&perPage=1", alice).json_body] \
        == [first["orderHash"]]
    for query, field in (("?pair=FOO-BAR", "pair"), ("?page=0", "page"), ("?perPage=500", "perPage"),
                         ("?tokenAddress=0x1", "tokenAddress"), (f"?makerTokenAddress=0x{'cd' * 20}",
                                                                 "makerTokenAddress")):
        for route in ("/v0/openOrders", "/v0/orderHistory"):
            response = get(client, route + query, alice)
            assert response.status_code == 400, (route, query)
            assert error_of(response)["validationErrors"][0]["field"] == field


# -- SRA v0 -------------------------------------------------------------------------------------

def test_token_pairs(client, market):
    (pair,) = get(client, "/v0/token_pairs").json_body
    assert pair["tokenA"] == {"address": ZRX, "minAmount": str(E18), "maxAmount": "9" * 38, "precision": 18}
    assert pair["tokenB"]["address"] == WETH
    assert get(client, f"/v0/token_pairs?tokenA={WETH}").json_body == [pair]
    assert get(client, f"/v0/token_pairs?tokenA={WETH}&tokenB={ZRX}&page=1&per_page=1").json_body == [pair]
    assert get(client, f"/v0/token_pairs?tokenA=0x{'ab' * 20}").json_body == []
    assert get(client, "/v0/token_pairs?page=2").json_body == []
    assert get(client, "/v0/token_pairs?tokenA=nope").status_code == 400


def test_sra_orders_order_and_orderbook(client, market):
    signed_ask = sell(ALICE, 10, Fraction(3, 1000), market)
    ask = submit(client, signed_ask)
    cheap_ask = submit(client, sell(BOB, 10, Fraction(2, 1000), market))
    bid = submit(client, buy(CAROL, 10, Fraction(1, 1000), market, taker=addr(ALICE)))
    # GET /v0/order/{hash}: exactly the signed order.
    response = get(client, f"/v0/order/0x{ask['orderHash']}")
    assert response.status_code == 200 and response.json_body == signed_ask
    assert get(client, "/v0/order/" + "ab" * 32).status_code == 404
    assert get(client, "/v0/order/zz").status_code == 400
    # GET /v0/orders and its filters.
    every = get(client, "/v0/orders").json_body
    assert len(every) == 3 and all(set(o) == set(signed_ask) for o in every)

    def hashes(query: str) -> list[str]:
        response = get(client, "/v0/orders" + query)
        assert response.status_code == 200, response.body
        return [order_hash(o) for o in response.json_body]

    assert hashes(f"?maker={addr(ALICE)}") == [ask["orderHash"]]
    assert hashes(f"?taker={addr(ALICE)}") == [bid["orderHash"]]
    assert set(hashes(f"?trader={addr(ALICE)}")) == {ask["orderHash"], bid["orderHash"]}
    assert hashes(f"?makerTokenAddress={ZRX}&takerTokenAddress={WETH}") == [cheap_ask["orderHash"], ask["orderHash"]]
    assert set(hashes(f"?tokenAddress={WETH}")) == {ask["orderHash"], cheap_ask["orderHash"], bid["orderHash"]}
    assert hashes(f"?takerTokenAddress={ZRX}") == [bid["orderHash"]]
    assert hashes(f"?feeRecipient={NULL}&tokenA={ZRX}&tokenB={WETH}&per_page=1&page=3") != []
    assert hashes(f"?feeRecipient=0x{'11' * 20}") == []
    assert hashes(f"?exchangeContractAddress=0x{'12' * 20}") == []
    assert hashes(f"?taker={NULL}&maker={addr(BOB)}") == [cheap_ask["orderHash"]]
    assert get(client, "/v0/orders?maker=bob").status_code == 400
    assert get(client, "/v0/orders?perPage=101").status_code == 400
    # SRA order book, in both orientations of base and quote.
    book = get(client, f"/v0/orderbook?baseTokenAddress={ZRX}&quoteTokenAddress={WETH}").json_body
    assert [order_hash(o) for o in book["asks"]] == [cheap_ask["orderHash"], ask["orderHash"]]
    assert [order_hash(o) for o in book["bids"]] == [bid["orderHash"]]
    assert isinstance(book["asks"][0]["expirationUnixTimestampSec"], str)
    flipped = get(client, f"/v0/orderbook?baseTokenAddress={WETH}&quoteTokenAddress={ZRX}").json_body
    assert [order_hash(o) for o in flipped["bids"]] == [cheap_ask["orderHash"], ask["orderHash"]]
    assert [order_hash(o) for o in flipped["asks"]] == [bid["orderHash"]]


def test_fees(client, market):
    body = {k: v for k, v in sell(ALICE, 10, Fraction(1, 1000), market).items()
            if k not in ("ecSignature", "feeRecipient", "makerFee", "takerFee")}
    response = post(client, "/v0/fees", body)
    assert response.status_code == 200
    assert response.json_body == {"feeRecipient": NULL, "makerFee": "0", "takerFee": "0"}
    missing = error_of(post(client, "/v0/fees", {k: v for k, v in body.items() if k != "salt"}))
    assert missing["validationErrors"] == [{"field": "salt", "code": 1000, "reason": "Required field"}]
    unknown = error_of(post(client, "/v0/fees", {**body, "takerTokenAddress": "0x" + "ab" * 20}))
    assert unknown["validationErrors"][0]["code"] == 1003
    assert error_of(post(client, "/v0/fees", "{oops"))["code"] == 101
    assert error_of(post(client, "/v0/fees", {**body, "maker": "0xbad"}))["validationErrors"][0]["code"] == 1002
