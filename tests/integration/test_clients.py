"""Real HTTP clients against the whole stack as `make run` starts it: Node 20's default
keep-alive agent, `requests.Session`, and the published SRA v0 client (@0xproject/connect)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.api.relayer_helpers import ALICE, WETH, ZRX, addr, make_order, order_hash
from tests.integration.test_end_to_end import ADMIN, Stack, eventually
from tests.support import make_clock

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    import os

    from tests.support import NO_DYNAMODB_LOCAL

    if NO_DYNAMODB_LOCAL and not os.environ.get("CI"):
        pytest.skip(NO_DYNAMODB_LOCAL)
    with Stack(tmp_path_factory.mktemp("clients") / "ddb") as running:
        for name, token in (("ZRX", ZRX), ("WETH", WETH)):
            r = running.post("/admin/assets", {"name": name, "decimals": 18, "token_address": token})
            assert r.status_code == 201, r.text
        r = running.post("/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH", "fee": "0"})
        assert r.status_code == 201, r.text
        r = running.post("/admin/deposits", {"coin": "ZRX", "txid": "fund-alice", "address": addr(ALICE),
                                             "quantity": 10 * 10**18})
        assert r.status_code == 201, r.text

        def funded():
            balances = running.get(f"/addresses/{addr(ALICE)}/balances").json()
            assert [b["quantity"] for b in balances if b["asset"] == "ZRX"] == [10 * 10**18]
        eventually(funded, timeout=90)
        yield running


def node(script: str, *args: str) -> dict:
    done = subprocess.run(["node", str(NODE_DIR / script), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@needs_node
def test_node_default_agent_makes_100_requests_on_one_connection(stack) -> None:
    # a third GETs, a third JSON bodies with Content-Length, a third chunked bodies: /v0/fees
    # answers every body (not an order) with the relayer's 400, on the same connection
    result = node("keepalive.js", stack.url, "100", json.dumps({"get": "/v0/token_pairs", "post": "/v0/fees"}))
    assert result["keepAlive"] is True  # Node 20's global agent keeps connections alive by default
    assert result["errors"] == []
    assert result["statuses"] == {"200": 34, "400": 66}
    assert result["sockets"] == 1 and result["closes"] == []


def test_requests_session_makes_100_requests_on_one_connection(stack) -> None:
    with requests.Session() as session:
        statuses = [session.get(f"{stack.url}/v0/token_pairs", timeout=30).status_code if i % 2 else
                    session.post(f"{stack.url}/v0/fees", data=iter([b'{"makerTokenAddress":', b' 1}']),
                                 timeout=30).status_code  # a generator body is sent chunked
                    for i in range(100)]
        pools = session.get_adapter(stack.url).poolmanager.pools
        assert statuses == [400, 200] * 50
        assert [pools[key].num_connections for key in pools.keys()] == [1]


def test_a_closing_client_is_told_connection_close(stack) -> None:
    response = requests.get(f"{stack.url}/v0/token_pairs", headers={"Connection": "close"}, timeout=30)
    assert response.status_code == 200 and response.headers["Connection"] == "close"
    kept = requests.get(f"{stack.url}/v0/token_pairs", timeout=30)
    assert kept.headers["Connection"] == "keep-alive" and kept.headers["Keep-Alive"].startswith("timeout=")


@needs_node
def test_the_published_sra_client_passes_every_call(stack, tmp_path) -> None:
    clock = make_clock()
    clock.current = time.time()
    order = make_order(ALICE, ZRX, 2 * 10**18, WETH, 10**18, clock, salt=77, expires_in=86_400)
    order["ecSignature"]["v"] = int(order["ecSignature"]["v"])
    digest = "0x" + order_hash(order)
    spec = tmp_path / "order.json"
    spec.write_text(json.dumps({"order": order, "hash": digest, "base": ZRX, "quote": WETH}))

    results = node("sra_client.js", f"{stack.url}/v0", str(spec))

    failed = {name: r["error"] for name, r in results.items() if not r["ok"]}
    assert failed == {}
    assert results["getOrderAsync"]["result"]["maker"] == addr(ALICE)
    assert results["getOrderAsync"]["result"]["makerTokenAmount"] == str(2 * 10**18)
    assert [o["salt"] for o in results["getOrdersAsync"]["result"]] == ["77"]
    assert [o["salt"] for o in results["getOrderbookAsync"]["result"]["asks"]] == ["77"]
    assert results["getOrderbookAsync"]["result"]["bids"] == []
    pairs = results["getTokenPairsAsync"]["result"]
    assert [(p["tokenA"]["address"], p["tokenB"]["address"]) for p in pairs] == [(ZRX, WETH)]
    assert results["getFeesAsync"]["result"]["makerFee"] == "0"
    assert requests.get(f"{stack.url}/admin/assets", headers=ADMIN, timeout=30).status_code == 200


def test_py_algorand_sdk_status_and_health(stack) -> None:
    from algosdk.error import AlgodHTTPError
    from algosdk.v2client.algod import AlgodClient

    algod = AlgodClient("e2e-algod", stack.url)
    block_seconds = 10  # the local default (LAMBDEX_BLOCK_SECONDS)

    def current_round() -> int:
        return (int(time.time()) - 1_735_689_600) // block_seconds

    before = current_round()
    status = algod.status()
    after = current_round()  # a block may begin while the request is on its way: either round is right
    assert before <= status["last-round"] <= after, (before, status["last-round"], after)
    assert 0 <= status["time-since-last-round"] < block_seconds * 10**9
    assert status["catchup-time"] == 0 and status["stopped-at-unsupported-round"] is False

    def healthy():
        report = algod.health()  # algod's health needs no token
        assert report["status"] == "ok", report
        assert report["database"]["ok"] and report["scheduler"]["ok"] and report["markets"]["failing"] == []
    eventually(healthy, timeout=90)  # the first scheduler pass may be slow on a loaded machine
    with pytest.raises(AlgodHTTPError) as wrong:
        AlgodClient("wrong", stack.url).status()
    assert wrong.value.code == 401
