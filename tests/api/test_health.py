"""GET /health (database, stream lag, last scheduler pass, failing markets) and algod's
GET /v2/status; the real SDK calls both in tests/integration/test_clients.py."""

from __future__ import annotations

import msgpack
import pytest

from chalicelib.events import matcher, scheduler
from chalicelib.ledger import db, settlement
from tests.support import free_port

TOKEN = {"X-Algo-API-Token": "test-algod-token"}


def order_record(market: str, created: float, seq: str = "1") -> dict:
    return {"eventName": "INSERT", "dynamodb": {
        "SequenceNumber": seq, "ApproximateCreationDateTime": created,
        "NewImage": {"market": {"S": market}, "book_key": {"S": "x"}}}}


def health(client) -> dict:
    response = client.http.get("/health")
    assert response.status_code == 200, response.body
    return response.json_body


def test_a_fresh_ledger_is_degraded_until_the_scheduler_has_run(client, ledger) -> None:
    body = health(client)
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["scheduler"] == {"ok": False, "last_pass_at": None, "age_seconds": None, "max_age_seconds": 180.0}
    assert body["stream"]["ok"] is True and body["stream"]["last_batch_at"] is None  # quiet is not lagging
    assert body["markets"] == {"ok": True, "failing": []}
    assert body["block_index"] == ledger.block_index()

    scheduler.run(ledger)
    body = health(client)
    assert body["status"] == "ok" and body["scheduler"]["ok"] is True
    assert body["scheduler"]["age_seconds"] == 0

    ledger.advance(181)
    body = health(client)
    assert body["status"] == "degraded" and body["scheduler"]["ok"] is False
    assert body["scheduler"]["age_seconds"] == 181


def test_stream_lag_and_failing_markets_come_from_the_matcher(client, ledger, monkeypatch) -> None:
    scheduler.run(ledger)
    def broken_for_bad(market, clock, **hints):
        if market == "BAD-MKT":
            raise RuntimeError("injected")

    monkeypatch.setattr(settlement, "match_market", broken_for_bad)
    result = matcher.handle({"Records": [order_record("BAD-MKT", ledger.now() - 90, "1"),
                                         order_record("NONE-MKT", ledger.now() - 5, "2")]}, ledger)
    assert result == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    body = health(client)
    assert body["status"] == "degraded"
    assert body["markets"] == {"ok": False, "failing": ["BAD-MKT"]}
    assert body["stream"]["lag_seconds"] == 5 and body["stream"]["ok"] is True  # the newest record's age

    matcher.handle({"Records": [order_record("OTHER", ledger.now() - 61)]}, ledger)
    body = health(client)
    assert body["stream"] == {"ok": False, "last_batch_at": body["time"], "lag_seconds": 61.0,
                              "max_lag_seconds": 60.0}
    assert body["markets"]["failing"] == ["BAD-MKT"]  # not retried yet: still failing

    monkeypatch.setattr(settlement, "match_market", lambda market, clock, **hints: None)
    matcher.handle({"Records": [order_record("BAD-MKT", ledger.now())]}, ledger)
    body = health(client)
    assert body["markets"] == {"ok": True, "failing": []} and body["status"] == "ok"


def test_an_unreachable_database_is_a_503_in_algods_error_shape(client, ledger) -> None:
    endpoint = db._endpoint
    db.reset(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    try:
        response = client.http.get("/health")
    finally:
        db.reset(endpoint)
    assert response.status_code == 503
    assert response.json_body["message"] == "database unreachable"
    assert response.json_body["database"] == {"ok": False, "error": "EndpointConnectionError"}


def test_a_failing_heartbeat_write_never_fails_the_matcher(client, ledger, monkeypatch) -> None:
    def refuse(**request):
        raise RuntimeError("injected: the counters table is throttled")

    monkeypatch.setattr(db.client(), "update_item", refuse)
    monkeypatch.setattr(settlement, "match_market", lambda market, clock, **hints: None)
    assert matcher.handle({"Records": [order_record("NONE-MKT", ledger.now())]}, ledger) == {"batchItemFailures": []}
    assert scheduler.run(ledger)["fills"] == 0
    monkeypatch.undo()
    assert health(client)["scheduler"]["last_pass_at"] is None  # nothing was recorded


def test_node_status_is_the_ledgers_block(client, ledger) -> None:
    ledger.advance(3.25)  # 3.25 s into a 10-second block
    response = client.http.get("/v2/status", headers=TOKEN)
    assert response.status_code == 200
    assert response.json_body == {
        "catchup-time": 0, "last-round": ledger.block_index(), "last-version": "lambdex",
        "next-version": "lambdex", "next-version-round": ledger.block_index() + 1,
        "next-version-supported": True, "stopped-at-unsupported-round": False,
        "time-since-last-round": 3_250_000_000}
    packed = client.http.get("/v2/status?format=msgpack", headers={**TOKEN, "Accept": "application/msgpack"})
    assert packed.headers["Content-Type"] == "application/msgpack"
    assert msgpack.unpackb(packed.body) == response.json_body


@pytest.mark.parametrize("headers, query, status, message", [
    ({}, "", 401, "Invalid API Token"),
    ({"X-Algo-API-Token": "wrong"}, "", 401, "Invalid API Token"),
    (TOKEN, "?format=xml", 400, "unknown format 'xml': json or msgpack"),
])
def test_node_status_errors(client, headers, query, status, message) -> None:
    response = client.http.get(f"/v2/status{query}", headers=headers)
    assert response.status_code == status
    assert response.json_body == {"message": message}
