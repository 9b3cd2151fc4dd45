"""The realtime publisher on DynamoDB Local with real stream records of the orders and
matches tables: redelivered and concurrent batches give every trade and every book change
exactly one sequence number, without gaps, and the deltas rebuild the book."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import boto3
import pytest

from chalicelib.events import matcher
from chalicelib.ledger.models import Order, OrderMatch
from chalicelib.local.stream_poller import StreamPoller
from chalicelib.realtime import connections, gateway, handlers, publisher, snapshots
from chalicelib.realtime.channels import Request
from tests.integration.test_matcher_stream import MARKET, place_random_orders, setup_market


class Recorder:
    """A gateway that keeps what each connection was sent; `gone` connections answer 410."""

    def __init__(self, gone=()):
        self.sent: dict[str, list[dict]] = defaultdict(list)
        self.gone = set(gone)
        self.lock = threading.Lock()

    def post(self, connection_id: str, data: bytes) -> None:
        if connection_id in self.gone:
            raise gateway.Gone(connection_id)
        with self.lock:
            self.sent[connection_id].append(json.loads(data))


@pytest.fixture
def recorder():
    recording = Recorder(gone={"gone-1"})
    gateway.install(recording)
    yield recording
    gateway.install(None)


def batches_of(endpoint: str, table: str, batch_size: int = 7) -> list[dict]:
    found = []
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name="us-east-1")
    poller = StreamPoller(dynamodb, streams, table, lambda event, context: found.append(event), batch_size=batch_size)
    while poller.poll_once():
        pass
    return found


def subscribe(connection_id: str, channel: str, clock) -> dict:
    connections.add_connection(connection_id, int(clock.now()))
    return handlers.answer(connection_id, Request("subscribe", channel, channel, {"market": MARKET}), clock)


def settle_and_collect(ddb_client, clock, endpoint, seed):
    # DynamoDB Local deletes items whose TTL attribute is past by the wall clock: the test's
    # clock must not make the connections look hours old.
    clock.current = time.time()
    setup_market(ddb_client, clock)
    book = subscribe("c-1", "book", clock)
    trades = subscribe("c-1", "trades", clock)
    subscribe("gone-1", "book", clock)  # went away without a $disconnect: pruned on its first post
    place_random_orders(clock, 40, seed=seed)
    for event in batches_of(endpoint, Order.Meta.table_name):
        matcher.handle(event, clock)
    batches = batches_of(endpoint, Order.Meta.table_name) + batches_of(endpoint, OrderMatch.Meta.table_name)
    return book, trades, batches


def check(recorder, book, trades, clock):
    sent = recorder.sent["c-1"]
    trade_updates = [m["payload"] for m in sent if m["channel"] == "trades"]
    book_updates = sorted((m["payload"] for m in sent if m["channel"] == "book"), key=lambda p: p["seq"])
    with_scans = pytest.importorskip("tests.support").allow_scans
    with with_scans():
        match_ids = {m.id for m in OrderMatch.scan()}
    assert match_ids, "the random orders crossed"
    assert sorted(t["seq"] for t in trade_updates) == list(range(trades["payload"]["seq"] + 1,
                                                                 trades["payload"]["seq"] + 1 + len(match_ids)))
    assert {t["id"] for t in trade_updates} == match_ids  # each match once
    assert [b["seq"] for b in book_updates] == list(range(book["payload"]["seq"] + 1,
                                                          book["payload"]["seq"] + 1 + len(book_updates)))
    levels = {side: dict(map(tuple, book["payload"][side])) for side in ("bids", "asks")}
    for delta in book_updates:
        for side in ("bids", "asks"):
            for price, amount in delta[side]:
                levels[side].pop(price, None) if amount == "0" else levels[side].__setitem__(price, amount)
    tm = snapshots.market_view(MARKET)
    live = snapshots.live_levels(MARKET)
    from chalicelib.realtime.channels import levels_view

    assert levels == {side: dict(map(tuple, levels_view(tm, live[side]))) for side in ("bids", "asks")}
    assert connections.subscribers(f"book#{MARKET}", int(clock.now())) == [
        s for s in connections.subscribers(f"book#{MARKET}", int(clock.now())) if s.connection_id == "c-1"]


def test_every_batch_delivered_twice_publishes_each_change_once(ddb_client, ddb_ledger, ddb_endpoint, recorder):
    book, trades, batches = settle_and_collect(ddb_client, ddb_ledger, ddb_endpoint, seed=11)
    for event in batches + batches:
        assert publisher.handle(event, ddb_ledger) == {"batchItemFailures": []}
    check(recorder, book, trades, ddb_ledger)


def test_concurrent_overlapping_batches_publish_each_change_once(ddb_client, ddb_ledger, ddb_endpoint, recorder):
    book, trades, batches = settle_and_collect(ddb_client, ddb_ledger, ddb_endpoint, seed=12)
    errors = []

    def worker(events):
        try:
            for event in events:
                assert publisher.handle(event, ddb_ledger) == {"batchItemFailures": []}
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(batches[i:] + batches[:i],)) for i in (0, len(batches) // 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)  # generous on a loaded machine; a worker still running is a failure, not a race
    assert not [t for t in threads if t.is_alive()], "a publisher worker did not finish"
    assert not errors
    check(recorder, book, trades, ddb_ledger)
