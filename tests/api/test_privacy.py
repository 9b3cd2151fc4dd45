"""Issue 10, item 8 and the deposit suspicions of item 10: API-key accounts are private
unless they opt in, the converter's public list shows converter deposits only, a memo
deposit checks `to_account`, a new deposit address is read consistently, and a checksummed
Ethereum address lands on the lower-case account the 0x dialect trades from."""

from __future__ import annotations

import json

from algosdk import account as algo_account

from chalicelib.events import scheduler
from tests import support
from tests.api.wallet_setup import balance, deposit, make_coins
from tests.support import ADMIN, audit_ok, post

ALGOD = {"X-Algo-API-Token": "test-algod-token"}


def body(response):
    return json.loads(response.body)


def key_of(client, account, public=None):
    payload = {"account": account, "scopes": ["read", "trade"], **({} if public is None else {"public": public})}
    r = post(client, "/admin/apikeys", payload)
    assert r.status_code == 201, r.body
    assert body(r)["public"] is bool(public)
    return {"Authorization": f"Token {body(r)['key']}", "Content-Type": "application/json"}


def test_an_api_key_account_is_private_unless_it_opts_in(client, ledger):
    _, private_addr = algo_account.generate_account()
    _, public_addr = algo_account.generate_account()
    assert post(client, "/admin/assets", {"name": "USDA", "decimals": 6, "asset_id": 77}).status_code == 201
    private_key = key_of(client, private_addr)
    public_key = key_of(client, public_addr, public=True)
    for who in (private_addr, public_addr):
        post(client, "/admin/deposits", {"coin": "USDA", "txid": f"in-{who}", "address": who, "quantity": 5})
    scheduler.run(ledger)

    assert body(client.http.get(f"/addresses/{private_addr}/balances")) == []  # as if unknown
    assert [(r["address"], r["asset"], r["quantity"]) for r in body(
        client.http.get(f"/addresses/{public_addr}/balances"))] == [(public_addr, "USDA", 5)]
    assert [r["address"] for r in body(client.http.get("/assets/USDA/balances"))] == [public_addr]
    assert [r["address"] for r in body(client.http.get("/assets/USDA/balances?sort=-quantity"))] == [public_addr]
    private_holding = client.http.get(f"/v2/accounts/{private_addr}/assets/77", headers=ALGOD)
    assert private_holding.status_code == 404 and body(private_holding) == {"message": "account asset info not found"}
    assert body(client.http.get(f"/v2/accounts/{public_addr}/assets/77", headers=ALGOD))["asset-holding"]["amount"] == 5
    # the account itself always sees its own through its key
    own = body(client.http.get("/api/v1/wallet/getbalance?coin=USDA", headers=private_key))["data"]
    assert own["balance"] == 0.000005
    public_own = body(client.http.get("/api/v1/wallet/getbalance?coin=USDA", headers=public_key))["data"]
    assert public_own["balance"] == 0.000005
    # an address with no API key is public, as on its chain
    post(client, "/admin/deposits", {"coin": "USDA", "txid": "chain", "address": "on-chain", "quantity": 2})
    scheduler.run(ledger)
    assert body(client.http.get("/addresses/on-chain/balances"))[0]["quantity"] == 2


def test_the_converter_lists_converter_deposits_only(client, ledger):
    make_coins(client)
    wallet = key_of(client, "alice")
    address = body(client.http.post("/api/v1/wallet/getdepositaddress", headers=wallet,
                                    body=json.dumps({"coin": "LTC"})))["data"]["address"]
    wallet_deposit = deposit(client, "LTC", "wallet-in", "1", address=address)
    raw_deposit = deposit(client, "LTC", "raw-in", "1", address="someone")
    converter = body(client.http.post("/api/convert", headers={"Content-Type": "application/json"}, body=json.dumps(
        {"from_coin": "LTC", "to_coin": "SGTK", "destination": "bob"})))
    deposit(client, "LTC", "conv-in", "1", address=converter["address"])

    def listed(path):
        return [r["txid"] for r in body(client.http.get(path, headers={"Host": "127.0.0.1:8000"}))]

    assert listed("/api/deposits/") == ["conv-in"]  # before processing: the wallet deposit is already private
    scheduler.run(ledger)
    assert listed("/api/deposits/") == ["conv-in"]
    assert listed(f"/api/deposits/?address={address}") == []
    for private in (wallet_deposit, raw_deposit):
        assert client.http.get(f"/api/deposits/{private['id']}/").status_code == 404
    assert balance("alice", "LTC") == (10**8, 0)  # credited all the same
    audit_ok()


def test_a_memo_deposit_checks_to_account(client, ledger):
    make_coins(client)
    wallet = key_of(client, "alice")
    memo = body(client.http.get("/api/v1/wallet/getdepositaddress?coin=sgtk", headers=wallet))["data"]
    assert memo["address"] == "lambdex-sgtk"
    deposit(client, "SGTK", "elsewhere", "2", to_account="someone-else", memo=memo["memo"])
    deposit(client, "SGTK", "right", "3", to_account="lambdex-sgtk", memo=memo["memo"])
    scheduler.run(ledger)
    assert balance("alice", "SGTK") == (3000, 0)  # only the transfer to the memo's own account
    rows = body(client.http.get("/admin/deposits?coin=SGTK", headers=ADMIN))
    statuses = {r["txid"]: r["status"] for r in (rows if isinstance(rows, list) else rows.get("deposits", []))}
    assert statuses.get("elsewhere", "inv") == "inv"
    audit_ok()


def test_a_deposit_reads_its_new_address_consistently(client, ledger):
    """DynamoDB's default read is eventually consistent: an address created a moment before
    its first deposit could be missed, and the deposit credited to the raw address."""
    make_coins(client)
    wallet = key_of(client, "alice")
    address = body(client.http.post("/api/v1/wallet/getdepositaddress", headers=wallet,
                                    body=json.dumps({"coin": "LTC"})))["data"]["address"]
    deposit(client, "LTC", "first", "1", address=address)
    reads = []

    def watch(operation, params):
        if operation == "GetItem" and params["TableName"].endswith("deposit_addresses"):
            reads.append(params.get("ConsistentRead", False))

    with support.hook(watch):
        scheduler.run(ledger)
    assert reads and all(reads), reads
    assert balance("alice", "LTC") == (10**8, 0) and balance(address, "LTC") == (0, 0)


def test_a_checksummed_ethereum_address_lands_on_the_lower_case_account(client, ledger):
    checksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55
    assert post(client, "/admin/assets", {"name": "WETH", "decimals": 18}).status_code == 201
    post(client, "/admin/deposits", {"coin": "WETH", "txid": "eip55", "address": checksummed, "quantity": 7})
    scheduler.run(ledger)
    assert balance(checksummed.lower(), "WETH") == (7, 0) and balance(checksummed, "WETH") == (0, 0)
    for spelling in (checksummed, checksummed.lower()):
        assert [(r["address"], r["asset"], r["quantity"]) for r in body(
            client.http.get(f"/addresses/{spelling}/balances"))] == [(checksummed.lower(), "WETH", 7)]
    audit_ok()
