"""CoinBTR wallet routes: deposit addresses, balances, withdrawals (sent by the scheduler)."""

from __future__ import annotations

import json

import pytest

from chalicelib.events import scheduler
from chalicelib.ledger import chain
from chalicelib.ledger.models import OutboxTransfer
from tests import support
from tests.api.wallet_setup import LTC_FEE, balance, deposit, make_coins
from tests.support import post

VALID_LTC = "LKjpPtgMbcFgbJJYwzfe1ZtR8x4bbs2V3o"


def new_key(client, account: str, scopes: list[str]) -> dict:
    response = post(client, "/admin/apikeys", {"account": account, "scopes": scopes})
    assert response.status_code == 201
    return {"Authorization": f"Token {json.loads(response.body)['key']}", "Content-Type": "application/json"}


def call(client, method: str, path: str, headers: dict, body=None):
    payload = None if body is None else body if isinstance(body, str) else json.dumps(body)
    response = getattr(client.http, method)(path, headers=headers, **({} if payload is None else {"body": payload}))
    return response.status_code, json.loads(response.body)


@pytest.fixture
def alice(client, ledger):
    """Alice holds 1 LTC, deposited to her own deposit address."""
    make_coins(client)
    headers = new_key(client, "alice", ["read", "withdraw"])
    status, body = call(client, "post", "/api/v1/wallet/getdepositaddress", headers, {"coin": "ltc"})
    assert status == 200 and body["success"] is True
    deposit(client, "LTC", "alice-in", "1", address=body["data"]["address"])
    scheduler.run(ledger)
    return headers


def test_deposit_address_is_derived_once_and_credited(client, alice):
    status, body = call(client, "get", "/api/v1/wallet/getdepositaddress?coin=LTC", alice)
    assert status == 200
    assert body == {"success": True, "msg": "", "data": {"coin": "LTC", "address": body["data"]["address"]}}
    address = body["data"]["address"]
    assert address.startswith("L")
    assert call(client, "post", "/api/v1/wallet/getdepositaddress", alice, {"coin": "LTC"})[1]["data"]["address"] \
        == address
    memo = call(client, "get", "/api/v1/wallet/getdepositaddress?coin=sgtk", alice)[1]["data"]
    assert memo["address"] == "lambdex-sgtk" and len(memo["memo"]) == 16
    assert call(client, "get", "/api/v1/wallet/getdepositaddress?coin=sgtk", alice)[1]["data"] == memo
    bob = new_key(client, "bob", ["read"])
    assert call(client, "get", "/api/v1/wallet/getdepositaddress?coin=LTC", bob)[1]["data"]["address"] != address
    deposits = call(client, "get", "/api/v1/wallet/listdeposits", alice)[1]["data"]
    assert [(d["txid"], d["amount"], d["status"], d["address"]) for d in deposits] == [
        ("alice-in", 1.0, "credited", address)]
    support.audit_ok()


def test_memo_deposit_is_credited_to_the_memo_owner(client, alice, ledger):
    memo = call(client, "get", "/api/v1/wallet/getdepositaddress?coin=SGTK", alice)[1]["data"]["memo"]
    deposit(client, "SGTK", "alice-sgtk", "2.5", to_account="lambdex-sgtk", memo=memo)
    scheduler.run(ledger)
    assert balance("alice", "SGTK") == (2500, 0)
    support.audit_ok()


def test_balances(client, alice):
    status, body = call(client, "get", "/api/v1/wallet/listbalances", alice)
    assert status == 200
    address = call(client, "get", "/api/v1/wallet/getdepositaddress?coin=LTC", alice)[1]["data"]["address"]
    assert body["data"] == [{"coin": "LTC", "balance": 1.0, "available": 1.0, "pending": 0.0,
                             "depositAddress": address}]
    one = call(client, "get", "/api/v1/wallet/getbalance?coin=ltc", alice)
    assert one == (200, {"success": True, "msg": "", "data": body["data"][0]})
    empty = call(client, "get", "/api/v1/wallet/getbalance?coin=SGTK", alice)[1]["data"]
    assert empty == {"coin": "SGTK", "balance": 0.0, "available": 0.0, "pending": 0.0, "depositAddress": None}
    assert call(client, "get", "/api/v1/wallet/getbalance", alice)[0] == 400


@pytest.mark.parametrize("path", ["/api/v1/wallet/withdraw", "/api/v1/wallet/whithdraw"])
def test_withdraw_is_locked_then_sent_by_the_scheduler(client, alice, ledger, path):
    status, body = call(client, "post", path, alice, {"coin": "ltc", "address": VALID_LTC, "amount": 0.25})
    assert status == 200 and body["success"] is True
    data = body["data"]
    assert (data["coin"], data["status"], data["amount"], data["txid"]) == ("LTC", "pending", 0.25, None)
    total = 25_000_000 + LTC_FEE
    assert balance("alice", "LTC") == (100_000_000 - total, total)
    pending = call(client, "get", "/api/v1/wallet/getbalance?coin=LTC", alice)[1]["data"]
    assert pending["pending"] == total / 1e8 and pending["balance"] == 1.0
    support.audit_ok()

    scheduler.run(ledger)
    scheduler.run(ledger)
    listed = call(client, "get", "/api/v1/wallet/listwithdraws", alice)[1]["data"]
    assert len(listed) == 1 and listed[0]["status"] == "sent" and listed[0]["fee"] == LTC_FEE / 1e8
    sent = OutboxTransfer.get(f"withdrawal:{data['id']}")
    assert (sent.coin, sent.to_address, sent.quantity, sent.txid) == ("LTC", VALID_LTC, 25_000_000,
                                                                       listed[0]["txid"])
    assert balance("alice", "LTC") == (100_000_000 - total, 0)
    support.audit_ok()


def test_amount_as_decimal_string(client, alice, ledger):
    status, body = call(client, "post", "/api/v1/wallet/withdraw", alice,
                        {"coin": "LTC", "address": VALID_LTC, "amount": "0.00000001"})
    assert status == 200 and body["data"]["amount"] == 1e-8


@pytest.mark.parametrize("body, status, code, words", [
    ({"coin": "LTC", "address": VALID_LTC, "amount": 2}, 400, "insufficient_funds", "insufficient"),
    ({"coin": "LTC", "address": VALID_LTC, "amount": 1}, 400, "insufficient_funds", "insufficient"),  # + fee
    ({"coin": "LTC", "address": "not-an-address", "amount": 0.1}, 400, "invalid_input", "not a valid LTC"),
    ({"coin": "LTC", "address": "0x" + "1" * 40, "amount": 0.1}, 400, "invalid_input", "not a valid LTC"),
    ({"coin": "LTC", "address": VALID_LTC, "amount": "abc"}, 400, "invalid_input", "amount"),
    ({"coin": "LTC", "address": VALID_LTC, "amount": -1}, 400, "invalid_input", "amount"),
    ({"coin": "LTC", "address": VALID_LTC, "amount": 0}, 400, "invalid_input", "amount"),
    ({"coin": "LTC", "address": VALID_LTC, "amount": "0.000000001"}, 400, "invalid_input", "decimal places"),
    ({"coin": "LTC", "address": VALID_LTC, "amount": True}, 400, "invalid_input", "amount"),
    ({"coin": "LTC", "address": VALID_LTC}, 400, "invalid_input", "amount"),
    ({"coin": "DOGE", "address": VALID_LTC, "amount": 0.1}, 404, "not_found", "DOGE"),
    ("{not json", 400, "bad_request", "JSON"),
])
def test_refused_withdrawals_write_nothing(client, alice, body, status, code, words):
    before = support.table_snapshot()
    got_status, got = call(client, "post", "/api/v1/wallet/withdraw", alice, body)
    assert got_status == status
    assert got["success"] is False and got["msg"]["code"] == code and words in got["msg"]["error"]
    assert support.table_snapshot() == before


def test_keys_and_scopes(client, alice):
    body = {"coin": "LTC", "address": VALID_LTC, "amount": 0.1}
    reader = new_key(client, "alice", ["read"])
    before = support.table_snapshot()
    assert call(client, "post", "/api/v1/wallet/withdraw", reader, body)[0] == 403
    status, got = call(client, "post", "/api/v1/wallet/withdraw", {"Content-Type": "application/json"}, body)
    assert status == 401 and got == {"success": False, "msg": {"error": got["msg"]["error"], "code": "unauthorized"}}
    bogus = {"Authorization": "Token lx_not-a-key", "Content-Type": "application/json"}
    assert call(client, "post", "/api/v1/wallet/withdraw", bogus, body)[0] == 401
    assert call(client, "get", "/api/v1/wallet/listbalances", bogus)[0] == 401
    assert call(client, "get", "/api/v1/wallet/listbalances", {"Authorization": "Bearer x"})[0] == 401
    assert support.table_snapshot() == before
    trader = new_key(client, "alice", ["trade"])
    status, got = call(client, "get", "/api/v1/wallet/listbalances", trader)
    assert status == 403 and got["msg"]["code"] == "forbidden"


def test_rejected_send_refunds(client, alice, ledger):
    data = call(client, "post", "/api/v1/wallet/withdraw", alice,
                {"coin": "LTC", "address": VALID_LTC, "amount": 0.5})[1]["data"]

    class Rejecting:
        def send(self, transfer_id, coin, to_address, memo, quantity):
            raise chain.ChainRejected("address rejected by the node")

    chain.use(Rejecting())
    try:
        scheduler.run(ledger)
    finally:
        chain.use(None)
    listed = call(client, "get", "/api/v1/wallet/listwithdraws", alice)[1]["data"]
    assert [(w["id"], w["status"], w["txid"]) for w in listed] == [(data["id"], "refunded", None)]
    assert balance("alice", "LTC") == (100_000_000, 0)
    scheduler.run(ledger)
    assert balance("alice", "LTC") == (100_000_000, 0)
    support.audit_ok()


class Crash(BaseException):  # the process dies: no guard of the scheduler catches it
    pass


def test_crash_between_debit_and_send_sends_exactly_once(client, alice, ledger):
    data = call(client, "post", "/api/v1/wallet/withdraw", alice,
                {"coin": "LTC", "address": VALID_LTC, "amount": 0.5})[1]["data"]
    fired = []

    def crash_on_send(operation: str, params: dict) -> None:
        if operation == "PutItem" and params.get("TableName", "").endswith("-outbox") and not fired:
            fired.append(1)
            raise Crash("the scheduler died before the send")

    with support.hook(crash_on_send), pytest.raises(Crash):
        scheduler.run(ledger)
    w = call(client, "get", "/api/v1/wallet/listwithdraws", alice)[1]["data"][0]
    assert w["status"] == "signed" and w["txid"] is None
    total = 50_000_000 + LTC_FEE
    assert balance("alice", "LTC") == (100_000_000 - total, 0)
    support.audit_ok()
    scheduler.run(ledger)
    scheduler.run(ledger)
    with support.allow_scans():
        assert [t.id for t in OutboxTransfer.scan()] == [f"withdrawal:{data['id']}"]
    assert call(client, "get", "/api/v1/wallet/listwithdraws", alice)[1]["data"][0]["status"] == "sent"
    assert balance("alice", "LTC") == (100_000_000 - total, 0)
    support.audit_ok()
