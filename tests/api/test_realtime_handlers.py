"""The WebSocket handlers and the fan-out on moto, with a recording gateway: subscribe,
unsubscribe, limits, errors that keep the connection, disconnect clean-up, and a slow or
failing connection that never holds up the others."""

from __future__ import annotations

import json
import threading
import time

import pytest

from chalicelib.realtime import channels, connections, gateway, handlers


class Recorder:
    def __init__(self):
        self.sent: dict[str, list[dict]] = {}

    def post(self, connection_id: str, data: bytes) -> None:
        self.sent.setdefault(connection_id, []).append(json.loads(data))


@pytest.fixture
def recorder(ledger):
    # On DynamoDB Local (LAMBDEX_TEST_BACKEND=ddblocal) items whose TTL attribute is past by
    # the wall clock get deleted: the connections must not look hours old.
    ledger.current = time.time()
    recording = Recorder()
    gateway.install(recording)
    yield recording
    gateway.install(None)


def event(connection_id: str, body=None) -> dict:
    found = {"requestContext": {"connectionId": connection_id, "domainName": "x.example", "stage": "api"}}
    if body is not None:
        found["body"] = body if isinstance(body, str) else json.dumps(body)
    return found


def market(client):
    from tests.support import post

    for name in ("ZRX", "WETH"):
        assert post(client, "/admin/assets", {"name": name, "decimals": 8}).status_code == 201
    assert post(client, "/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH", "fee": "0"}
                ).status_code == 201


def test_subscribe_unsubscribe_and_disconnect(client, ledger, recorder):
    market(client)
    handlers.connect(event("c1"), ledger)
    handlers.message(event("c1", {"type": "subscribe", "channel": "book", "requestId": 7,
                                  "payload": {"market": "ZRX-WETH"}}), ledger)
    assert recorder.sent["c1"][-1]["type"] == "snapshot" and recorder.sent["c1"][-1]["requestId"] == 7
    now = int(ledger.now())
    assert [s.connection_id for s in connections.subscribers("book#ZRX-WETH", now)] == ["c1"]
    handlers.message(event("c1", {"type": "subscribe", "channel": "book", "requestId": 7,
                                  "payload": {"market": "ZRX-WETH"}}), ledger)  # the same again: replaces it
    assert len(connections.subscribers("book#ZRX-WETH", now)) == 1
    handlers.message(event("c1", {"type": "unsubscribe", "channel": "book", "requestId": 7}), ledger)
    assert recorder.sent["c1"][-1] == {"type": "unsubscribed", "channel": "book", "requestId": 7,
                                       "payload": {"removed": 1}}
    assert connections.subscribers("book#ZRX-WETH", now) == []
    handlers.message(event("c1", {"type": "subscribe", "channel": "trades", "payload": {"market": "ZRX-WETH"}}),
                     ledger)
    handlers.disconnect(event("c1"))
    assert connections.subscribers("trades#ZRX-WETH", now) == []
    assert connections.subscriptions_of("c1") == []


def test_expired_subscriptions_are_not_served(client, ledger, recorder):
    market(client)
    handlers.connect(event("old"), ledger)
    handlers.message(event("old", {"type": "subscribe", "channel": "trades", "payload": {"market": "ZRX-WETH"}}),
                     ledger)
    later = int(ledger.now()) + connections.TTL_SECONDS + 1
    assert connections.subscribers("trades#ZRX-WETH", later) == []


def test_at_most_50_subscriptions_and_the_connection_stays_usable(client, ledger, recorder):
    market(client)
    handlers.connect(event("c2"), ledger)
    for i in range(connections.MAX_SUBSCRIPTIONS):
        connections.subscribe("c2", "ticker", "ZRX-WETH", i, {}, int(ledger.now()))
    handlers.message(event("c2", {"type": "subscribe", "channel": "book", "requestId": "x",
                                  "payload": {"market": "ZRX-WETH"}}), ledger)
    assert recorder.sent["c2"][-1]["type"] == "error" and "50" in recorder.sent["c2"][-1]["payload"]["reason"]
    handlers.message(event("c2", {"type": "ping", "requestId": 1}), ledger)
    assert recorder.sent["c2"][-1]["type"] == "pong"


@pytest.mark.parametrize("body, code", [
    (None, 101), ("x" * (channels.MAX_MESSAGE_BYTES + 1), 101), ("{", 101), ("[]", 101),
    (json.dumps({"type": "nope"}), 100), (json.dumps({"type": "subscribe"}), 100),
    (json.dumps({"type": "subscribe", "channel": "book", "payload": []}), 100),
    (json.dumps({"type": "subscribe", "channel": "book", "requestId": True, "payload": {}}), 100),
    (json.dumps({"type": "subscribe", "channel": "book", "payload": {}}), 100),
    (json.dumps({"type": "subscribe", "channel": "book", "payload": {"market": 5}}), 100),
    (json.dumps({"type": "subscribe", "channel": "orderbook", "requestId": 1,
                 "payload": {"baseTokenAddress": "0x" + "1" * 40, "quoteTokenAddress": "0x" + "2" * 40,
                             "limit": 0}}), 100),
    (json.dumps({"type": "subscribe", "channel": "orders", "payload": {"token": "not-a-jwt"}}), 401),
    (json.dumps({"type": "subscribe", "channel": "orders", "payload": {}}), 401),
])
def test_bad_messages_get_an_error_and_change_nothing(client, ledger, recorder, body, code):
    market(client)
    handlers.connect(event("c3"), ledger)
    found = {"requestContext": {"connectionId": "c3", "domainName": "x", "stage": "api"}, "body": body}
    handlers.message(found, ledger)
    assert recorder.sent["c3"][-1]["type"] == "error" and recorder.sent["c3"][-1]["payload"]["code"] == code
    assert connections.count_subscriptions("c3") == 0


def test_a_slow_or_failing_connection_never_holds_up_the_others():
    release = threading.Event()
    delivered: list[str] = []

    class Flaky:
        def post(self, connection_id: str, data: bytes) -> None:
            if connection_id == "slow":
                assert release.wait(60)
            if connection_id == "broken":
                raise RuntimeError("socket reset")
            if connection_id == "gone":
                raise gateway.Gone(connection_id)
            delivered.append(connection_id)

    work = [("slow", [b"1"])] + [(f"ok-{i}", [b"1", b"2"]) for i in range(20)] + [("broken", [b"1"]),
                                                                              ("gone", [b"1"])]
    reports: list[gateway.FanOut] = []
    sending = threading.Thread(target=lambda: reports.append(gateway.fan_out(Flaky(), work)))
    sending.start()
    deadline = time.monotonic() + 60
    while len(delivered) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    # Every other connection got both its messages while the slow one is still stuck.
    assert sorted(delivered) == sorted(f"ok-{i}" for i in range(20) for _ in range(2)) and not reports
    release.set()
    sending.join(60)
    assert reports[0].sent == 41 and reports[0].failed == 1 and reports[0].gone == ["gone"]
