"""Two schedulers at once convert and send each deposit once, and each withdrawal once.

In-process moto loses committed transactional writes under threads, so this runs on
DynamoDB Local (the `ddb_ledger` fixture of tests/integration/conftest.py).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.events import scheduler
from chalicelib.ledger.models import Conversion, Deposit, OutboxTransfer, Withdrawal
from tests import support
from tests.api.wallet_setup import deposit, make_coins

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
    for _ in range(3):
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
