"""Issue 10, isolation: one failing market, step or deposit never stops the others. The
failure is logged with its id, counted (the pass report, the market item's
`failing_passes`), retried by the next pass, and the count clears once it settles."""

from __future__ import annotations

import json
import logging

import pytest

from chalicelib.events import matcher, scheduler
from chalicelib.ledger import backoff, deposits, markets, orders
from tests import support
from tests.support import audit_ok, post

PAIRS = (("ZRX", "WETH"), ("DAI", "WETH"))


def body(response):
    return json.loads(response.body)


@pytest.fixture
def two_markets(client, ledger):
    """ZRX-WETH and DAI-WETH, a seller and a buyer funded on both."""
    for name in ("ZRX", "DAI", "WETH"):
        assert post(client, "/admin/assets", {"name": name, "decimals": 8}).status_code == 201
    for base, quote in PAIRS:
        assert post(client, "/admin/markets", {"id": f"{base}-{quote}", "base": base, "quote": quote, "fee": "0"}
                    ).status_code == 201
    keys = {}
    for account, coins in (("seller", ("ZRX", "DAI")), ("buyer", ("WETH",))):
        keys[account] = body(post(client, "/admin/apikeys", {"account": account, "scopes": ["read", "trade"]}))["key"]
        for coin in coins:
            post(client, "/admin/deposits", {"coin": coin, "txid": f"fund-{account}-{coin}", "address": account,
                                             "amount": "100"})
    scheduler.run(ledger)
    return keys


def place(client, key, side, market, price="0.5", amount="4"):
    r = client.http.post(f"/api/v1/trading/place/{side}limit", body=json.dumps(
        {"market": market, "price": price, "amount": amount}),
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"})
    assert r.status_code == 200, r.body
    return body(r)["data"]["id"]


def cross_both(client, keys, ledger):
    """A crossing sell and buy on each market; returns {market: [sell id, buy id]}."""
    placed = {}
    for base, quote in PAIRS:
        market = f"{base}-{quote}"
        placed[market] = [place(client, keys["seller"], "sell", market)]
        ledger.advance(1)
        placed[market].append(place(client, keys["buyer"], "buy", market, price="0.6"))
    return placed


def statuses(placed, market):
    return [orders.get_order(h, market).status for h in placed[market]]


def failing(market):
    return markets.get_market(market, consistent=True).failing_passes


def explode_on_market(market):
    """A non-retryable fault on every settling transaction of `market` (a bug, a poisoned item)."""
    def before(operation, params):
        if operation == "TransactWriteItems" and any(
                item.get("Update", {}).get("Key", {}).get("id", {}).get("S") == market
                for item in params["TransactItems"]):
            raise RuntimeError(f"injected fault on {market}")
    return before


def test_a_failing_market_does_not_stop_the_others_and_is_counted_until_it_recovers(
        client, ledger, two_markets, caplog):
    placed = cross_both(client, two_markets, ledger)
    post(client, "/admin/deposits", {"coin": "WETH", "txid": "late", "address": "buyer", "amount": "1"})
    with support.hook(explode_on_market("ZRX-WETH")), caplog.at_level(logging.ERROR, "lambdex.scheduler"):
        report = scheduler.run(ledger)  # raised RuntimeError out of the pass before
        assert scheduler.run(ledger)["failures"] == 1  # retried next pass, still failing
    assert report["failures"] == 1 and report["failed"] == ["fills:ZRX-WETH"]
    assert report["deposits"]["credited"] == 1  # the steps before ran ...
    assert statuses(placed, "DAI-WETH") == ["filled", "filled"]  # ... and the market after it
    assert statuses(placed, "ZRX-WETH") == ["open", "open"]
    assert failing("ZRX-WETH") == 2 and failing("DAI-WETH") == 0
    assert "injected fault on ZRX-WETH" in markets.get_market("ZRX-WETH", consistent=True).last_failure
    logged = [r for r in caplog.records if r.getMessage() == "scheduler step failed"]
    assert [(r.step, r.market) for r in logged] == [("fills", "ZRX-WETH")] * 2

    report = scheduler.run(ledger)  # the fault is gone: the next pass settles it
    assert report["failures"] == 0 and report["fills"] == 1
    assert statuses(placed, "ZRX-WETH") == ["filled", "filled"]
    assert failing("ZRX-WETH") == 0 and markets.get_market("ZRX-WETH", consistent=True).last_failure is None
    audit_ok()


def test_a_failing_step_does_not_stop_the_market_steps(client, ledger, two_markets):
    placed = cross_both(client, two_markets, ledger)

    def deposits_table_down(operation, params):
        if operation == "Query" and "deposits" in params.get("TableName", ""):
            raise RuntimeError("injected: the deposits table is unreachable")

    with support.hook(deposits_table_down):
        report = scheduler.run(ledger)
    assert report["failed"] == ["deposits"] and report["fills"] == 2
    assert statuses(placed, "ZRX-WETH") == statuses(placed, "DAI-WETH") == ["filled", "filled"]


def test_one_poisoned_deposit_does_not_stop_the_others(client, ledger, two_markets, monkeypatch):
    for txid in ("d1", "poison", "d3"):
        post(client, "/admin/deposits", {"coin": "WETH", "txid": txid, "address": "buyer", "amount": "1"})
    handle = deposits.handle_new_deposit

    def poisoned(key, clock):
        if "poison" in key:
            raise RuntimeError("injected: a deposit the code cannot handle")
        return handle(key, clock)

    monkeypatch.setattr(deposits, "handle_new_deposit", poisoned)
    report = scheduler.run(ledger)
    assert report["deposits"]["credited"] == 2 and report["deposits"]["failed"] == 1 and report["failures"] == 1
    assert [d.txid for d in deposits.pending_deposits("new")] == ["poison"]  # retried after its back-off
    monkeypatch.setattr(deposits, "handle_new_deposit", handle)
    assert scheduler.run(ledger)["deposits"]["credited"] == 0  # not due yet: it never stands in front
    ledger.advance(backoff.retry_delay_us(1) / 1_000_000)
    assert scheduler.run(ledger)["deposits"]["credited"] == 1
    audit_ok()


def test_more_poisoned_deposits_than_a_pass_reads_do_not_starve_a_later_one(client, ledger, monkeypatch):
    """On the database's own `due` index: 101 failing deposits ahead of a good one."""
    assert post(client, "/admin/assets", {"name": "WETH", "decimals": 8}).status_code == 201
    for i in range(101):
        deposits.record_deposit(deposits.ObservedTransfer("WETH", f"poison-{i:03d}", 5, address="mallory"), ledger)
    ledger.advance(1)
    deposits.record_deposit(deposits.ObservedTransfer("WETH", "good", 7, address="alice"), ledger)
    handle = deposits.handle_new_deposit

    def poisoned(key, clock):
        if "poison" in key:
            raise RuntimeError("injected: a deposit the code cannot handle")
        return handle(key, clock)

    monkeypatch.setattr(deposits, "handle_new_deposit", poisoned)
    first, second = deposits.process_new_deposits(ledger), deposits.process_new_deposits(ledger)
    assert (first["failed"], first["credited"]) == (100, 0)
    assert (second["failed"], second["credited"]) == (1, 1)  # the one not read first, then the good one
    assert sorted(d.txid for d in deposits.pending_deposits("new", limit=200)) == [
        f"poison-{i:03d}" for i in range(101)]  # all still there, each to be tried after its back-off
    assert deposits.get_deposit("WETH#good#0").status == "credited"


def record(market, sequence_number):
    return {"eventName": "INSERT", "dynamodb": {
        "SequenceNumber": sequence_number,
        "NewImage": {"market": {"S": market}, "book_key": {"S": "S#x"}}}}


def test_the_stream_handler_isolates_markets_and_counts_the_failing_one(client, ledger, two_markets):
    placed = cross_both(client, two_markets, ledger)
    event = {"Records": [record("ZRX-WETH", "1"), record("DAI-WETH", "2"), record("ZRX-WETH", "3")]}
    with support.hook(explode_on_market("ZRX-WETH")):
        result = matcher.handle(event, ledger)
    assert result == {"batchItemFailures": [{"itemIdentifier": "1"}, {"itemIdentifier": "3"}]}
    assert statuses(placed, "DAI-WETH") == ["filled", "filled"]
    assert statuses(placed, "ZRX-WETH") == ["open", "open"]
    assert failing("ZRX-WETH") == 1 and failing("DAI-WETH") == 0

    from chalicelib.ledger import cache

    cache.clear()  # the handler reads the market through the cache (2 s)
    assert matcher.handle({"Records": [record("ZRX-WETH", "4")]}, ledger) == {"batchItemFailures": []}
    assert statuses(placed, "ZRX-WETH") == ["filled", "filled"] and failing("ZRX-WETH") == 0
    audit_ok()


def test_the_audit_reports_a_crossed_book_and_a_market_failing_too_long(client, ledger, two_markets):
    from chalicelib.admin.audit import audit

    placed = cross_both(client, two_markets, ledger)
    seen = []
    with support.allow_scans():
        report = audit(progress=lambda table, n: seen.append(table))  # before any settlement: crossed
    crossed = {line.split(":")[0] for line in report.crossed}
    assert crossed == {f"market {m} is crossed" for m in ("ZRX-WETH", "DAI-WETH")}
    assert set(seen) == {"journal", "balances", "orders", "matches", "markets"}
    with support.hook(explode_on_market("ZRX-WETH")):
        for _ in range(4):
            scheduler.run(ledger)
    with support.allow_scans():
        report = audit()
    assert not report.ok and len(report.crossed) == 1 and "ZRX-WETH" in report.crossed[0]
    assert report.failing[0].startswith("market ZRX-WETH has failed 4 passes in a row")
    scheduler.run(ledger)
    assert statuses(placed, "ZRX-WETH") == ["filled", "filled"]
    audit_ok()
