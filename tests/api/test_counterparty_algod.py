"""Counterparty read routes and the algod account-asset route on the test client."""

from __future__ import annotations

import base64
import hashlib
import json

import msgpack
import pytest

from chalicelib.api.algod import is_valid_address
from chalicelib.events import scheduler
from tests.support import post


def body(response):
    return json.loads(response.body)


def algorand_address(seed: int) -> str:
    key = hashlib.sha256(str(seed).encode()).digest()
    checksum = hashlib.new("sha512_256", key).digest()[-4:]
    return base64.b32encode(key + checksum).decode().rstrip("=")


CREATOR, HOLDER, STRANGER = (algorand_address(i) for i in range(3))
TOKEN = {"X-Algo-API-Token": "test-algod-token"}


@pytest.fixture
def world(client, ledger):
    assert post(client, "/admin/assets", {"name": "USDA", "decimals": 6, "asset_id": 31566704, "issuer": CREATOR,
                                          "supply": 10**12, "unit_name": "USDA", "url": "https://usda.example",
                                          "manager": CREATOR}).status_code == 201
    assert post(client, "/admin/assets", {"name": "NODIVISIBLE", "decimals": 0, "issuer": "mn6q", "supply": 1000,
                                          "description": "No divisible asset"}).status_code == 201
    for i, holder in enumerate([HOLDER, "h2", "h3"]):
        post(client, "/admin/deposits", {"coin": "USDA", "txid": f"t{i}", "address": holder, "quantity": 10 + i})
    scheduler.run(ledger)


def test_asset_information_is_case_insensitive(client, world):
    expected = [{"asset": "NODIVISIBLE", "asset_longname": None, "description": "No divisible asset",
                 "divisible": False, "issuer": "mn6q", "locked": False, "owner": "mn6q", "supply": 1000}]
    assert body(client.http.get("/assets/NODIVISIBLE/")) == expected
    assert body(client.http.get("/assets/nodivisible")) == expected
    r = client.http.get("/assets/NOPE/")
    assert r.status_code == 404 and "NOPE" in body(r)["error"]


def test_balances_with_limit_offset_and_sort(client, world):
    rows = body(client.http.get("/assets/usda/balances"))
    assert [r["address"] for r in rows] == sorted([CREATOR, HOLDER, "h2", "h3"])
    assert body(client.http.get("/assets/USDA/balances?limit=2&offset=1")) == rows[1:3]
    by_quantity = body(client.http.get("/assets/USDA/balances?sort=-quantity"))
    assert [r["quantity"] for r in by_quantity] == [10**12, 12, 11, 10]
    assert body(client.http.get(f"/addresses/{HOLDER}/balances")) == [
        {"address": HOLDER, "asset": "USDA", "quantity": 10, "quantity_normalized": "0.000010"}]
    assert body(client.http.get("/addresses/nobody/balances")) == []


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "offset=-1", "sort=colour"])
def test_bad_list_parameters(client, world, query):
    r = client.http.get(f"/assets/USDA/balances?{query}")
    assert r.status_code == 400 and body(r)["error"]


def test_order_routes_404_and_bad_status(client, world):
    assert client.http.get("/orders/" + "0" * 64).status_code == 404
    assert client.http.get("/orders/" + "0" * 64 + "/matches").status_code == 404
    assert client.http.get("/assets/USDA/orders?status=weird").status_code == 400
    assert body(client.http.get("/assets/USDA/orders")) == []


def test_algod_holding_creator_and_msgpack(client, world):
    r = client.http.get(f"/v2/accounts/{HOLDER}/assets/31566704", headers=TOKEN)
    assert r.status_code == 200
    assert body(r) == {"round": 360, "asset-holding": {"amount": 10, "asset-id": 31566704, "is-frozen": False}}
    created = body(client.http.get(f"/v2/accounts/{CREATOR}/assets/31566704",
                                   headers={"Authorization": "Bearer test-algod-token"}))
    assert created["created-asset"]["creator"] == CREATOR and created["created-asset"]["total"] == 10**12
    assert created["created-asset"]["unit-name-b64"] == base64.b64encode(b"USDA").decode()
    # API Gateway (and so Chalice) returns binary only to a request that accepts it.
    packed = client.http.get(f"/v2/accounts/{HOLDER}/assets/31566704?format=msgpack",
                             headers={**TOKEN, "Accept": "application/msgpack"})
    assert packed.headers["Content-Type"] == "application/msgpack"
    assert msgpack.unpackb(packed.body) == body(r)


@pytest.mark.parametrize("path, headers, status, message", [
    (f"/v2/accounts/{HOLDER}/assets/31566704", {}, 401, "Invalid API Token"),
    (f"/v2/accounts/{HOLDER}/assets/31566704", {"X-Algo-API-Token": "nope"}, 401, "Invalid API Token"),
    (f"/v2/accounts/{HOLDER[:-1]}A/assets/31566704", TOKEN, 400, "address"),
    (f"/v2/accounts/{HOLDER.lower()}/assets/31566704", TOKEN, 400, "address"),
    ("/v2/accounts/SHORT/assets/31566704", TOKEN, 400, "address"),
    (f"/v2/accounts/{HOLDER}/assets/abc", TOKEN, 400, "asset id"),
    (f"/v2/accounts/{HOLDER}/assets/-1", TOKEN, 400, "asset id"),
    (f"/v2/accounts/{HOLDER}/assets/{2**64}", TOKEN, 400, "asset id"),
    (f"/v2/accounts/{HOLDER}/assets/31566704?format=xml", TOKEN, 400, "format"),
    (f"/v2/accounts/{STRANGER}/assets/31566704", TOKEN, 404, "account asset info not found"),
    (f"/v2/accounts/{HOLDER}/assets/5", TOKEN, 404, "account asset info not found"),
])
def test_algod_errors(client, world, path, headers, status, message):
    r = client.http.get(path, headers=headers)
    assert r.status_code == status
    assert message in body(r)["message"]


def test_address_checksum():
    assert is_valid_address(HOLDER)
    flipped = HOLDER[:10] + ("A" if HOLDER[10] != "A" else "B") + HOLDER[11:]
    assert not is_valid_address(flipped)
