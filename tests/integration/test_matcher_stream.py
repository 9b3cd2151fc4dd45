"""The stream-driven matcher on DynamoDB Local with real stream records: redelivery,
concurrency and injected faults settle each match exactly once."""

from __future__ import annotations

import random
import threading
from fractions import Fraction

import boto3
import pytest

from chalicelib.events import matcher, scheduler
from chalicelib.ledger import orders, settlement
from chalicelib.ledger.matching import match_orders
from chalicelib.ledger.models import Order, OrderMatch
from chalicelib.local.stream_poller import StreamPoller
from tests import support
from tests.support import audit_ok, post

MARKET = "ZRX-WETH"
FEE = Fraction(1, 1000)


def setup_market(client, clock, accounts=4):
    assert post(client, "/admin/assets", {"name": "ZRX", "decimals": 0}).status_code == 201
    assert post(client, "/admin/assets", {"name": "WETH", "decimals": 0}).status_code == 201
    assert post(client, "/admin/markets", {"id": MARKET, "base": "ZRX", "quote": "WETH", "fee": "0.001"}
                ).status_code == 201
    for i in range(accounts):
        for coin in ("ZRX", "WETH"):
            post(client, "/admin/deposits", {"coin": coin, "txid": f"{coin}{i}", "address": f"acct{i}",
                                             "quantity": 10**9})
    scheduler.run(clock)


def place_random_orders(clock, count, seed, accounts=4):
    rng = random.Random(seed)
    placed = []
    for _ in range(count):
        clock.advance(0.001)
        side = rng.choice(("buy", "sell"))
        amount = rng.randint(1, 1000)
        price = Fraction(rng.randint(80, 120), 100)
        total = int(amount * price) or 1
        source = f"acct{rng.randrange(accounts)}"
        if side == "sell":
            request = orders.OrderRequest(source, "ZRX", amount, "WETH", total)
        else:
            request = orders.OrderRequest(source, "WETH", total, "ZRX", amount)
        placed.append(orders.place_order(request, clock)[0])
    return placed


def stream_batches(endpoint, batch_size=7):
    """Every record on the orders table's stream so far, in Lambda's event shape."""
    batches = []
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name="us-east-1")

    def capture(event, context):
        batches.append(event)

    poller = StreamPoller(dynamodb, streams, Order.Meta.table_name, capture, batch_size=batch_size)
    while poller.poll_once():
        pass
    return batches


def expected_fills(placed):
    """What a single, fault-free matcher would do with the same orders (an `Order` is a `BookOrder`)."""
    result = match_orders(placed, FEE)
    return {f"{f.tx0_hash}_{f.tx1_hash}": (f.forward_quantity, f.backward_quantity, f.fee) for f in result.fills}


def settled_matches():
    with support.allow_scans():
        return {m.id: (m.forward_quantity, m.backward_quantity, m.fee_paid) for m in OrderMatch.scan()}


def assert_consistent(placed, clock):
    with support.allow_scans():
        stored = {o.tx_hash: o for o in Order.scan(consistent_read=True)}
        matches = list(OrderMatch.scan())
    moved = {h: 0 for h in stored}
    for m in matches:
        moved[m.tx0_hash] += m.forward_quantity
        moved[m.tx1_hash] += m.backward_quantity
    for tx_hash, order in stored.items():
        assert order.give_quantity - order.give_remaining == moved[tx_hash], tx_hash
    book = settlement.read_open_orders(MARKET, clock)
    assert match_orders(book, FEE).fills == (), "the book is still crossed"
    assert settled_matches() == expected_fills(placed)
    audit_ok()


def deliver(batches, clock):
    for event in batches:
        assert matcher.handle(event, clock) == {"batchItemFailures": []}


def test_every_batch_delivered_twice_settles_each_match_once(ddb_client, ddb_ledger, ddb_endpoint):
    setup_market(ddb_client, ddb_ledger)
    placed = place_random_orders(ddb_ledger, 40, seed=1)
    batches = stream_batches(ddb_endpoint)
    deliver(batches, ddb_ledger)
    deliver(batches, ddb_ledger)
    assert settled_matches(), "the flow should have produced matches"
    assert_consistent(placed, ddb_ledger)


def test_redelivery_from_mid_batch(ddb_client, ddb_ledger, ddb_endpoint):
    setup_market(ddb_client, ddb_ledger)
    placed = place_random_orders(ddb_ledger, 30, seed=2)
    batches = stream_batches(ddb_endpoint, batch_size=10)
    for event in batches:
        records = event["Records"]
        half = len(records) // 2
        matcher.handle({"Records": records[:half]}, ddb_ledger)
        matcher.handle({"Records": records[half // 2:]}, ddb_ledger)  # overlaps what came before
    assert_consistent(placed, ddb_ledger)


@pytest.mark.parametrize("threads", [2, 4])
def test_threads_on_overlapping_batches(ddb_client, ddb_ledger, ddb_endpoint, threads):
    setup_market(ddb_client, ddb_ledger)
    placed = place_random_orders(ddb_ledger, 40, seed=threads)
    batches = stream_batches(ddb_endpoint, batch_size=5)
    errors = []

    def worker(offset):
        try:
            for event in batches[offset:] + batches[:offset]:
                matcher.handle(event, ddb_ledger)
        except Exception as error:
            errors.append(error)

    workers = [threading.Thread(target=worker, args=(i * len(batches) // threads,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)  # generous on a loaded machine; a worker still running is a failure, not a race
    assert not [w for w in workers if w.is_alive()], "a matcher worker did not finish"
    assert not errors
    scheduler.run(ddb_ledger)  # the reconciler finishes anything a busy market deferred
    assert_consistent(placed, ddb_ledger)


def test_injected_conflicts_throttles_and_lost_responses_lose_and_double_nothing(
        ddb_client, ddb_ledger, ddb_endpoint):
    setup_market(ddb_client, ddb_ledger)
    placed = place_random_orders(ddb_ledger, 60, seed=7)
    batches = stream_batches(ddb_endpoint, batch_size=3)
    calls = {"n": 0}
    injected = {"conflict": 0, "throttle": 0, "lost": 0}

    # Every transaction in turn: a conflict, a throttle, a commit whose response is lost, a clean one.
    def before(operation, params):
        if operation != "TransactWriteItems":
            return
        calls["n"] += 1
        if calls["n"] % 4 == 1:
            injected["conflict"] += 1
            items = params["TransactItems"]
            raise support.client_error("TransactionCanceledException", operation,
                                       ["None"] * (len(items) - 1) + ["TransactionConflict"])
        if calls["n"] % 4 == 2:
            injected["throttle"] += 1
            raise support.client_error("ThrottlingException", operation)

    def lose_response(operation, params, result):
        if operation == "TransactWriteItems" and calls["n"] % 4 == 3:
            injected["lost"] += 1
            raise support.client_error("InternalServerError", operation)

    with support.hook(before), support.after(lose_response):
        for event in batches:
            matcher.handle(event, ddb_ledger)  # a failed market is reported, not raised
        for _ in range(5):
            scheduler.run(ddb_ledger)
    assert all(injected.values()), injected
    scheduler.run(ddb_ledger)
    assert_consistent(placed, ddb_ledger)


def test_a_failing_market_is_reported_per_record(ddb_client, ddb_ledger, ddb_endpoint):
    setup_market(ddb_client, ddb_ledger)
    place_random_orders(ddb_ledger, 6, seed=3)
    batches = stream_batches(ddb_endpoint, batch_size=100)

    def explode(operation, params):
        if operation == "TransactWriteItems":
            raise support.client_error("ValidationException", operation)

    with support.hook(explode):
        result = matcher.handle(batches[0], ddb_ledger)
    inserts = [r["dynamodb"]["SequenceNumber"] for r in batches[0]["Records"] if matcher.market_to_match(r)]
    assert result == {"batchItemFailures": [{"itemIdentifier": s} for s in inserts]}
