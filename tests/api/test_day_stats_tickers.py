"""The 24 h figures of every dialect's ticker come from hourly buckets kept by the settling
transaction: the same figures as the matches give, a constant read cost whatever the
volume, counted once however a commit is retried or replayed, and pending matches
counted when they are paid (never when they expire)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from chalicelib.events import matcher, scheduler
from chalicelib.ledger import cache, market_data, orders, settlement, stores
from chalicelib.ledger.market_data import DayStats, fill_price, hour_of
from chalicelib.ledger.markets import get_market
from chalicelib.ledger.models import OrderMatch
from chalicelib.ledger.tokens import token_market
from chalicelib.realtime import snapshots
from tests import support
from tests.api.relayer_helpers import fund, setup_market
from tests.support import audit_ok, post

E18 = 10**18
DAY_US = 86_400 * 1_000_000


def matches_day_stats(market_id: str, now_us: int) -> DayStats:
    """The figures as they were computed before the buckets: from every match of the last
    24 h (only completed ones), and the last one before them for the price 24 h ago."""
    market = get_market(market_id)
    stats = DayStats()
    found = sorted((m for m in OrderMatch.by_market.query(market_id) if m.status == "completed"),
                   key=lambda m: int(m.time_us))
    inside = [m for m in found if int(m.time_us) >= now_us - DAY_US]
    before = [m for m in found if int(m.time_us) < now_us - DAY_US]
    for match in inside:
        price, base, quote = fill_price(market, match)
        stats.price_24h = price if stats.price_24h is None else stats.price_24h
        stats.last = price
        stats.high = price if stats.high is None else max(stats.high, price)
        stats.low = price if stats.low is None else min(stats.low, price)
        stats.base_volume += base
        stats.quote_volume += quote
        stats.trades += 1
    if before:
        stats.price_24h = fill_price(market, before[-1])[0]
        stats.last = stats.last if stats.last is not None else stats.price_24h
    return stats


@pytest.fixture
def zrx_weth(client, ledger):
    setup_market(ledger)
    for who in ("alice", "bob"):
        fund(ledger, who, "ZRX", 10**6 * E18)
        fund(ledger, who, "WETH", 10**6 * E18)
    return ledger


def trade(ledger, zrx: int, weth_per_zrx: Fraction, seller="alice", buyer="bob") -> int:
    """One settled trade of `zrx` whole ZRX (a sell, then a crossing buy); its fills."""
    base, quote = zrx * E18, int(zrx * E18 * weth_per_zrx)
    ledger.advance(1)
    orders.place_order(orders.OrderRequest(seller, "ZRX", base, "WETH", quote), ledger)
    ledger.advance(1)
    orders.place_order(orders.OrderRequest(buyer, "WETH", quote, "ZRX", base), ledger)
    return settlement.match_market("ZRX-WETH", ledger).fills


def body(response):
    return json.loads(response.body)


def tickers(client, ledger) -> dict:
    cache.clear()
    return {"0x": body(client.http.get("/v0/markets"))[0],
            "coinbtr": body(client.http.get("/market/getticker?market=ZRX-WETH"))["data"],
            "realtime": snapshots.ticker(token_market(get_market("ZRX-WETH")), ledger)}


def test_every_dialects_figures_equal_those_of_the_matches(client, zrx_weth):
    ledger = zrx_weth
    for zrx, price in ((10, Fraction(1, 1000)), (5, Fraction(3, 1000)), (7, Fraction(2, 1000))):
        assert trade(ledger, zrx, price) == 1
    ledger.advance(25 * 3600)  # those are the price 24 h ago now
    for zrx, price in ((3, Fraction(4, 1000)), (2, Fraction(1, 2000)), (4, Fraction(5, 1000)),
                       (1, Fraction(3, 1000))):
        assert trade(ledger, zrx, price) == 1
    stats = market_data.day_stats(get_market("ZRX-WETH"), ledger)
    assert stats == matches_day_stats("ZRX-WETH", ledger.now_us())
    assert (stats.trades, stats.base_volume) == (4, 10 * E18)
    assert (stats.price_24h, stats.last) == (Fraction(2, 1000), Fraction(3, 1000))
    assert (stats.low, stats.high) == (Fraction(1, 2000), Fraction(5, 1000))
    shown = tickers(client, ledger)
    assert shown["0x"]["price24h"] == pytest.approx(0.002) and shown["0x"]["price"] == pytest.approx(0.003)
    assert shown["0x"]["tradeTokenVolume"] == "10.000000000000000000"
    assert shown["0x"]["baseTokenVolume"] == "0.036000000000000000"  # 3*0.004 + 2*0.0005 + 4*0.005 + 0.003
    assert shown["coinbtr"]["high"] == pytest.approx(0.005) and shown["coinbtr"]["low"] == pytest.approx(0.0005)
    assert shown["coinbtr"]["volume"] == pytest.approx(10.0)
    assert shown["coinbtr"]["quote_volume"] == pytest.approx(0.036)
    assert shown["coinbtr"]["change"] == pytest.approx(0.5)
    realtime = shown["realtime"]
    assert (realtime["trades24h"], realtime["open24h"], realtime["last"], realtime["change24hPercent"]) \
        == (4, "0.002", "0.003", "50")
    assert (realtime["volume24h"], realtime["quoteVolume24h"]) == ("10", "0.036")

    ledger.advance(25 * 3600)  # a quiet day: no volume, the last price stays
    quiet = market_data.day_stats(get_market("ZRX-WETH"), ledger)
    assert quiet == matches_day_stats("ZRX-WETH", ledger.now_us())
    assert quiet == DayStats(last=Fraction(3, 1000), price_24h=Fraction(3, 1000))


def items_read(calls: list[tuple[str, dict]]) -> int:
    total = 0
    for operation, result in calls:
        if operation in ("Query", "Scan"):
            total += len(result.get("Items", []))
        elif operation == "GetItem":
            total += 1 if result.get("Item") else 0
        elif operation == "BatchGetItem":
            total += sum(len(items) for items in result.get("Responses", {}).values())
    return total


def read_cost(client, ledger) -> dict[str, int]:
    """Items every ticker read returns from DynamoDB, from cold caches."""
    cost = {}
    reads = {"0x": lambda: client.http.get("/v0/markets"),
             "coinbtr": lambda: client.http.get("/market/getticker?market=ZRX-WETH"),
             "realtime": lambda: snapshots.ticker(token_market(get_market("ZRX-WETH")), ledger)}
    for name, read in reads.items():
        cache.clear()
        calls: list[tuple[str, dict]] = []
        with support.after(lambda operation, params, result, calls=calls: calls.append((operation, result))):
            read()
        cost[name] = items_read(calls)
    return cost


def test_a_ticker_reads_as_many_items_at_1000_matches_as_at_10(client, zrx_weth):
    ledger = zrx_weth
    for i in range(10):
        trade(ledger, 1, Fraction(1 + i % 3, 1000))
    at_10 = read_cost(client, ledger)
    # 990 more matches of the day in the table, as a busy market (or an attacker) makes them
    # (written directly: settling that many on moto takes minutes, and the read is the point).
    template = next(iter(OrderMatch.by_market.query("ZRX-WETH"))).attribute_values
    with OrderMatch.batch_write() as batch:
        for i in range(990):
            batch.save(OrderMatch(**{**template, "id": f"busy{i:04d}", "tx0_hash": f"a{i}", "tx1_hash": f"b{i}",
                                     "time_us": ledger.now_us() - i}))
    assert len(list(OrderMatch.by_market.query("ZRX-WETH"))) == 1000
    at_1000 = read_cost(client, ledger)
    assert at_1000 == at_10, (at_10, at_1000)
    assert market_data.day_stats(get_market("ZRX-WETH"), ledger).trades == 10


def test_the_window_is_one_query_of_at_most_25_buckets(client, zrx_weth):
    ledger = zrx_weth
    now_hour = hour_of(ledger.now_us())
    for hour in range(now_hour - 39, now_hour + 1):  # forty hours that traded
        tx = stores.new_tx()
        b = market_data.add_trades(None, "ZRX-WETH", [market_data.Trade(Fraction(hour), 1, hour, hour * 3600 * 10**6)])
        stores.market_stats().stage_put(tx, b, None)
        tx.commit(f"test:{hour}", "settle", "ZRX-WETH", ledger.now_us())
    market = get_market("ZRX-WETH")
    calls: list[tuple[str, dict, dict]] = []
    with support.after(lambda operation, params, result: calls.append((operation, params, result))):
        stats = market_data.day_stats(market, ledger)
    assert [(op, len(result["Items"])) for op, _, result in calls] == [("Query", market_data.WINDOW_HOURS + 1)]
    assert calls[0][1]["Limit"] == market_data.WINDOW_HOURS + 1
    assert stats.trades == 24 and stats.price_24h == now_hour - 24 and stats.last == now_hour


def bucket_now(ledger):
    return stores.market_stats().get("ZRX-WETH", hour_of(ledger.now_us()))


def test_a_replayed_settlement_commit_is_refused_and_counts_nothing(client, zrx_weth):
    ledger = zrx_weth
    sent: list[dict] = []
    with support.hook(lambda op, params: sent.append(params) if op == "TransactWriteItems" else None):
        assert trade(ledger, 10, Fraction(1, 1000)) == 1
    settle_commit = next(p for p in sent if any("market_stats" in json.dumps(i) for i in p["TransactItems"]))
    counted = bucket_now(ledger)
    assert (counted.trades, counted.base_volume, counted.version) == (1, 10 * E18, 1)
    from botocore.exceptions import ClientError

    from chalicelib.ledger import db
    # The very same request again: DynamoDB answers a repeated ClientRequestToken (botocore
    # put one in) as the first time, without applying it again (moto refuses it instead).
    try:
        db.client().transact_write_items(**settle_commit)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "TransactionCanceledException"
    assert bucket_now(ledger) == counted
    # As a new request (another token): refused by the journal entry and the conditions.
    fresh = {key: value for key, value in settle_commit.items() if key != "ClientRequestToken"}
    with pytest.raises(ClientError) as refused:
        db.client().transact_write_items(**fresh)
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert bucket_now(ledger) == counted
    audit_ok()


def test_a_commit_whose_answer_was_lost_counts_once(client, zrx_weth):
    """The commit happens, the caller sees an error and retries: it re-reads the book and
    the market's `seq` and finds nothing left to settle."""
    ledger = zrx_weth
    lost = []

    def lose_first_answer(operation, params, result):
        if operation == "TransactWriteItems" and not lost and any(
                "market_stats" in json.dumps(i) for i in params["TransactItems"]):
            lost.append(1)
            raise support.client_error("InternalServerError", "TransactWriteItems")

    with support.after(lose_first_answer):
        assert trade(ledger, 10, Fraction(1, 1000)) == 0  # it committed, but was told otherwise
    assert lost
    assert [m.status for m in OrderMatch.by_market.query("ZRX-WETH")] == ["completed"]
    assert (bucket_now(ledger).trades, bucket_now(ledger).base_volume) == (1, 10 * E18)
    audit_ok()


def test_a_redelivered_stream_batch_counts_once(client, zrx_weth):
    ledger = zrx_weth
    ledger.advance(1)
    orders.place_order(orders.OrderRequest("alice", "ZRX", 4 * E18, "WETH", 4 * E18 // 1000), ledger)
    orders.place_order(orders.OrderRequest("bob", "WETH", 4 * E18 // 1000, "ZRX", 4 * E18), ledger)
    batch = {"Records": [{"eventName": "INSERT", "dynamodb": {
        "SequenceNumber": "1", "NewImage": {"market": {"S": "ZRX-WETH"}, "book_key": {"S": "S#x"}}}}]}
    for _ in range(3):
        assert matcher.handle(batch, ledger) == {"batchItemFailures": []}
    assert (bucket_now(ledger).trades, bucket_now(ledger).version) == (1, 1)
    assert market_data.day_stats(get_market("ZRX-WETH"), ledger).base_volume == 4 * E18


def test_a_sweep_commit_carries_one_bucket_and_counts_it_within_100_items(client, ledger):
    """Dust asks (each closed on entry: one order and, all of one owner, one balance) fill a
    commit to exactly 100 items; with a fee every item planned is written, so a bucket the
    plan did not count would make it 101 and the commit fail."""
    setup_market(ledger, fee="0.01")
    fund(ledger, "alice", "ZRX", 10**6)
    fund(ledger, "bob", "WETH", 10**6)
    fund(ledger, "duster", "ZRX", 10**6)
    dust = []
    for _ in range(99):
        ledger.advance(0.001)
        dust.append(orders.place_order(orders.OrderRequest("duster", "ZRX", 1000, "WETH", 1), ledger)[0])
    from chalicelib.ledger.models import Order
    for order in dust:  # as if a partial fill had left 500, too little to buy one base unit of WETH
        Order.get("ZRX-WETH", order.tx_hash).update(actions=[Order.give_remaining.set(500)])
    ledger.advance(0.001)
    orders.place_order(orders.OrderRequest("alice", "ZRX", 1000, "WETH", 500), ledger)
    orders.place_order(orders.OrderRequest("bob", "WETH", 1000, "ZRX", 1000), ledger)
    seen: list[list[dict]] = []
    with support.hook(lambda op, params: seen.append(params["TransactItems"]) if op == "TransactWriteItems"
                      else None):
        settlement.match_market("ZRX-WETH", ledger)
    with_fills = [items for items in seen if any("-matches" in json.dumps(i) for i in items)]
    assert with_fills
    for items in with_fills:
        assert sum("-market_stats" in json.dumps(i) for i in items) == 1
    assert max(len(items) for items in seen) == 100  # filled to the limit, the bucket counted
    assert bucket_now(ledger).trades == 1  # (no audit: the dust was made by editing the orders)


# -- pending matches: counted when paid, in the hour they were made; never when expired ------

@pytest.fixture
def xcp_btc(client, ledger):
    assert post(client, "/admin/assets", {"name": "XCP", "decimals": 0}).status_code == 201
    assert post(client, "/admin/assets", {"name": "BTC", "decimals": 0, "settlement": "external"}).status_code == 201
    assert post(client, "/admin/markets", {"id": "XCP-BTC", "base": "XCP", "quote": "BTC"}).status_code == 201
    post(client, "/admin/deposits", {"coin": "XCP", "txid": "fund", "address": "seller", "quantity": 1000})
    scheduler.run(ledger)
    return ledger


def pending_match(ledger, xcp: int, btc: int) -> OrderMatch:
    sell, _ = orders.place_order(orders.OrderRequest("seller", "XCP", xcp, "BTC", btc, expiration=1000), ledger)
    ledger.advance(1)
    buy, _ = orders.place_order(orders.OrderRequest("buyer", "BTC", btc, "XCP", xcp, expiration=1000), ledger)
    assert settlement.match_market("XCP-BTC", ledger).fills == 1
    return OrderMatch.get(f"{sell.tx_hash}_{buy.tx_hash}", consistent_read=True)


def xcp_btc_stats(ledger) -> DayStats:
    return market_data.day_stats(get_market("XCP-BTC"), ledger)


def test_a_pending_match_counts_once_paid_in_the_hour_it_was_made(client, xcp_btc):
    ledger = xcp_btc
    ledger.advance(3600 - ledger.now() % 3600 - 30)  # 30 s before an hour ends
    match = pending_match(ledger, 100, 300)
    assert match.status == "pending"
    assert xcp_btc_stats(ledger) == DayStats()  # no trade until paid
    ledger.advance(60)  # paid in the next hour
    post(client, "/admin/deposits", {"coin": "BTC", "txid": "pay", "address": "x", "quantity": 300,
                                     "match_id": match.id})
    scheduler.run(ledger)
    assert OrderMatch.get(match.id).status == "completed"
    assert stores.market_stats().get("XCP-BTC", hour_of(ledger.now_us())) is None
    made_in = stores.market_stats().get("XCP-BTC", hour_of(int(match.time_us)))
    assert (made_in.trades, made_in.base_volume, made_in.quote_volume, made_in.close) == (1, 100, 300, 3)
    assert xcp_btc_stats(ledger) == DayStats(last=Fraction(3), price_24h=Fraction(3), high=Fraction(3),
                                             low=Fraction(3), base_volume=100, quote_volume=300, trades=1)
    assert xcp_btc_stats(ledger) == matches_day_stats("XCP-BTC", ledger.now_us())
    scheduler.run(ledger)  # a second pass pays nothing twice
    assert stores.market_stats().get("XCP-BTC", hour_of(int(match.time_us))).trades == 1
    audit_ok()


def test_a_pending_match_that_expires_unpaid_never_counts(client, xcp_btc):
    ledger = xcp_btc
    match = pending_match(ledger, 100, 300)
    ledger.advance(21 * 10)  # past match_expire_index
    scheduler.run(ledger)
    assert OrderMatch.get(match.id).status == "expired"
    assert xcp_btc_stats(ledger) == DayStats()
    assert stores.market_stats().recent("XCP-BTC", hour_of(ledger.now_us()), 25) == []
    audit_ok()


# -- a stage that traded before the buckets: the backfill ------------------------------------

def test_the_backfill_sums_the_matches_of_hours_without_buckets(client, zrx_weth):
    from typer.testing import CliRunner

    from chalicelib.ledger import db
    from chalicelib.ledger.models import MarketStat
    from lambdex_cli.main import app as cli

    ledger = zrx_weth
    trade(ledger, 10, Fraction(1, 1000))
    ledger.advance(30 * 3600)  # the price 24 h ago, from an hour long before the window
    trade(ledger, 5, Fraction(3, 1000))
    ledger.advance(2 * 3600)
    trade(ledger, 7, Fraction(2, 1000))
    trade(ledger, 1, Fraction(4, 1000))
    market = get_market("ZRX-WETH")
    expected = market_data.day_stats(market, ledger)
    hours = [b.hour for b in stores.market_stats().recent("ZRX-WETH", hour_of(ledger.now_us()), 25)]
    assert len(hours) == 3
    for hour in hours:  # as before the upgrade: matches, no buckets
        db.client().delete_item(TableName=MarketStat.Meta.table_name,
                                Key={"market": {"S": "ZRX-WETH"}, "hour": {"N": str(hour)}})
    assert market_data.day_stats(market, ledger) == DayStats()

    # The CLI on this test's own tables: DynamoDB Local's endpoint and the test's prefix there, or
    # "" (AWS's endpoint, which moto intercepts) and "test".
    prefix = MarketStat.Meta.table_name.removesuffix(f"-{MarketStat.Meta.table_suffix}")
    result = CliRunner().invoke(cli, ["--json", "backfill-day-stats", "--endpoint", db.endpoint() or "",
                                      "--prefix", prefix])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"market": "ZRX-WETH", "hours written": 3}]
    assert market_data.day_stats(market, ledger) == expected == matches_day_stats("ZRX-WETH", ledger.now_us())
    assert market_data.backfill_day_stats(market, ledger) == []  # again: nothing to write

    trade(ledger, 2, Fraction(5, 1000))  # and the next trade adds to the backfilled hour
    after = market_data.day_stats(market, ledger)
    assert after == matches_day_stats("ZRX-WETH", ledger.now_us()) and after.trades == expected.trades + 1
    audit_ok()
