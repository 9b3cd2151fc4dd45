"""The whole system as `make run` starts it: DynamoDB Local, the HTTP API, the stream
poller feeding the matcher, the scheduler. Driven over HTTP like a user would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support import NO_DYNAMODB_LOCAL, free_port, wait_until_answering

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": "Bearer e2e-admin"}
INTERVAL = 1.0


class Stack:
    def __init__(self, data_dir: Path):
        self.port, self.ddb_port, self.ws_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.ws_port}"
        self.env = dict(os.environ, PORT=str(self.port), LAMBDEX_DDB_PORT=str(self.ddb_port),
                        LAMBDEX_WS_PORT=str(self.ws_port),
                        LAMBDEX_DATA_DIR=str(data_dir), LAMBDEX_SCHEDULE_INTERVAL=str(INTERVAL),
                        LAMBDEX_ADMIN_TOKEN="e2e-admin", LAMBDEX_ALGOD_TOKEN="e2e-algod",
                        LAMBDEX_LOG_LEVEL="INFO", LAMBDEX_DYNAMODB_ENDPOINT="", LAMBDEX_TABLE_PREFIX="lambdex-local")
        self.log = data_dir.parent / f"runner-{self.port}.log"

    def __enter__(self):
        self.process = subprocess.Popen([sys.executable, "-m", "chalicelib.local.runner"], cwd=ROOT, env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=self.log.open("w"))
        try:
            self._wait_until_it_answers()
        except BaseException:
            with contextlib.suppress(Exception):
                self.__exit__()  # a stack that did not start is stopped, not left running
            raise
        return self

    def _wait_until_it_answers(self) -> None:
        # DynamoDB Local's JVM, the tables and the app start first: on a loaded 2-core machine
        # that can take a minute; a slow or refused probe is retried, a dead runner is fatal.
        try:
            wait_until_answering(f"{self.url}/admin/assets", headers=ADMIN, deadline=180,
                                 alive=lambda: self.process.poll() is None)
        except AssertionError as error:
            raise AssertionError(f"the stack did not start ({error}):\n" + self.log.read_text()[-3000:]) from None

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGINT)
        try:
            assert self.process.wait(90) == 0, self.log.read_text()[-3000:]
        finally:
            if self.process.poll() is None:
                self.process.kill()

    # generous: a request that waits on a busy matcher or scheduler on a loaded machine is slow, not lost
    def post(self, path, payload, headers=ADMIN):
        return requests.post(self.url + path, json=payload, headers=headers, timeout=60)

    def get(self, path, headers=None):
        return requests.get(self.url + path, headers=headers, timeout=60)


def eventually(check, timeout=60):  # generous: the scheduler pass may be slow on a loaded machine
    deadline = time.time() + timeout
    while True:
        try:
            return check()
        except (AssertionError, IndexError, KeyError):
            if time.time() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def data_dir(tmp_path):
    if NO_DYNAMODB_LOCAL and not os.environ.get("CI"):
        pytest.skip(NO_DYNAMODB_LOCAL)
    return tmp_path / "ddb"


def test_walkthrough_survives_a_restart_and_trading_settles_through_the_stream(data_dir):
    from algosdk import account
    from algosdk.error import AlgodHTTPError
    from algosdk.v2client.algod import AlgodClient

    _, creator = account.generate_account()
    _, holder = account.generate_account()
    with Stack(data_dir) as stack:
        r = stack.post("/admin/assets", {"name": "USDA", "decimals": 6, "asset_id": 31566704, "issuer": creator,
                                         "supply": 10**12})
        assert r.status_code == 201, r.text
        assert stack.post("/admin/deposits", {"coin": "USDA", "txid": "tx-1", "address": holder,
                                              "amount": "12.5"}).status_code == 201

        def credited():
            assert [(r["address"], r["asset"], r["quantity"]) for r in stack.get(
                f"/addresses/{holder}/balances").json()] == [(holder, "USDA", 12_500_000)]
        eventually(credited)
        algod = AlgodClient("e2e-algod", stack.url)
        assert algod.account_asset_info(holder, 31566704)["asset-holding"]["amount"] == 12_500_000
        with pytest.raises(AlgodHTTPError) as wrong_token:
            AlgodClient("wrong", stack.url).account_asset_info(holder, 31566704)
        assert wrong_token.value.code == 401
        with pytest.raises(AlgodHTTPError) as malformed:
            algod.account_asset_info("NOT-AN-ADDRESS", 31566704)
        assert malformed.value.code == 400

    with Stack(data_dir) as stack:  # same data folder: the ledger is still there
        credited()
        for name in ("ZRX", "WETH"):
            assert stack.post("/admin/assets", {"name": name, "decimals": 8}).status_code == 201
        assert stack.post("/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH", "fee": "0"}
                          ).status_code == 201
        keys = {}
        for account_name, coin in (("alice", "ZRX"), ("bob", "WETH")):
            keys[account_name] = stack.post("/admin/apikeys", {"public": True, "account": account_name,
                                                               "scopes": ["read", "trade"]}).json()["key"]
            stack.post("/admin/deposits", {"coin": coin, "txid": f"f-{account_name}", "address": account_name,
                                           "amount": "10"})
        eventually(lambda: _assert_funded(stack))
        sell = stack.post("/api/v1/trading/place/selllimit", {"market": "ZRX-WETH", "price": "0.5", "amount": "4"},
                          headers={"Authorization": f"Token {keys['alice']}"})
        buy = stack.post("/api/v1/trading/place/buylimit", {"market": "ZRX-WETH", "price": "0.5", "amount": "4"},
                         headers={"Authorization": f"Token {keys['bob']}"})
        assert sell.status_code == buy.status_code == 200, (sell.text, buy.text)
        sell_id = sell.json()["data"]["id"]

        def settled():
            assert [(r["asset"], r["quantity"]) for r in stack.get("/addresses/bob/balances").json()] == [
                ("WETH", 8 * 10**8), ("ZRX", 4 * 10**8)]
            fills = stack.get("/api/v1/trading/listtransactions",
                              headers={"Authorization": f"Token {keys['alice']}"}).json()["data"]
            assert [(f["side"], f["amount"], f["price"]) for f in fills] == [("sell", 4.0, 0.5)]
            matches = stack.get(f"/orders/{sell_id}/matches?status=completed").json()
            assert len(matches) == 1 and matches[0]["forward_quantity"] == 4 * 10**8
            assert stack.get("/market/getorderbook?market=ZRX-WETH").json()["data"]["bids"] == []
            assert stack.get("/market/getorderbook?market=ZRX-WETH").json()["data"]["asks"] == []
        eventually(settled)


def _assert_funded(stack):
    assert stack.get("/addresses/alice/balances").json()[0]["quantity"] == 10 * 10**8
    assert stack.get("/addresses/bob/balances").json()[0]["quantity"] == 10 * 10**8


def test_converter_flow_on_the_running_stack(data_dir):
    """Issue 5's flow as a user runs it: convert, deposit, and within two scheduler
    intervals the deposit is `conv` with the exact amount sent and in the outbox."""
    import boto3

    with Stack(data_dir) as stack:
        for asset in ({"name": "LTC", "decimals": 8, "network_fee": 100_000},
                      {"name": "SGTK", "decimals": 3, "deposit": "memo", "deposit_account": "privex"}):
            assert stack.post("/admin/assets", asset).status_code == 201
        assert stack.post("/admin/pairs", {"from_coin": "LTC", "to_coin": "SGTK", "exchange_rate": "100000",
                                           "ex_fee": "1"}).status_code == 201
        converted = requests.post(f"{stack.url}/api/convert/", timeout=60,
                                  data={"from_coin": "LTC", "to_coin": "SGTK", "destination": "someguy123"})
        assert converted.status_code == 200, converted.text
        address = converted.json()["address"]
        assert stack.post("/admin/deposits", {"coin": "LTC", "txid": "ltc-1", "address": address,
                                              "amount": "0.1"}).status_code == 201
        assert stack.post("/admin/deposits", {"coin": "SGTK", "txid": "sgtk-1", "to_account": "privex",
                                              "memo": "nobody's memo", "amount": "5"}).status_code == 201

        def converted_and_sent():
            (deposit,) = stack.get(f"/api/deposits/?address={address}").json()
            assert deposit["status"] == "conv"
            (conversion,) = stack.get("/api/conversions/?from_coin=LTC").json()
            assert conversion["to_amount"] == "9900.00000000000000000000" and conversion["to_txid"]
            (invalid,) = stack.get("/api/deposits/?txid=sgtk-1").json()
            assert invalid["status"] == "inv"
            return conversion
        conversion = eventually(converted_and_sent)
        dynamodb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{stack.ddb_port}",
                                region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local")
        sent = dynamodb.scan(TableName="lambdex-local-outbox")["Items"]
        assert [(i["to_address"]["S"], i["quantity"]["N"], i["txid"]["S"]) for i in sent] == [
            ("someguy123", "9900000", conversion["to_txid"])]
