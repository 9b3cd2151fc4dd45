"""POST /v0/auth, one-time nonces, and who may use the private routes."""

from __future__ import annotations

import base64
import json

import pytest
from eth_account.messages import encode_defunct

from chalicelib import settings
from chalicelib.auth import sessions
from chalicelib.auth.ethereum import keccak
from tests import support
from tests.api.relayer_helpers import (
    ALICE,
    BOB,
    E18,
    WETH,
    ZRX,
    addr,
    error_of,
    fund,
    get,
    make_order,
    order_hash,
    post,
    setup_market,
    token_for,
)
from tests.unit.test_ethereum import AUTH_ADDRESS, AUTH_DATA, AUTH_SIGNATURE

WEEK = 7 * 24 * 3600


def sign_data(account, data: bytes) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(primitive=data)).signature).hex()


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_spec_auth_example_signs_in(client, ledger, monkeypatch):
    # The spec's example is a legacy eth_sign over the raw 32-byte hash (no prefix) of its
    # fixed message, which an operator must switch on outside the local stage.
    monkeypatch.setenv("LAMBDEX_0X_ALLOW_FIXED_MESSAGE", "true")
    response = post(client, "/v0/auth", {"address": AUTH_ADDRESS, "data": AUTH_DATA, "signature": AUTH_SIGNATURE})
    assert response.status_code == 200, response.body
    token = response.json_body["token"]
    assert set(claims(token)) == {"exp", "iss", "nbf"}
    assert claims(token)["iss"] == AUTH_ADDRESS
    assert claims(token)["exp"] - claims(token)["nbf"] == WEEK
    assert claims(token)["nbf"] == int(ledger.now())
    assert sessions.verify_token(token, settings.jwt_secret(), int(ledger.now())) == AUTH_ADDRESS


def test_prefixed_wallet_signature_signs_in(client, ledger):
    headers = token_for(client, ALICE)
    assert get(client, "/v0/openOrders", headers).status_code == 200


def test_signature_of_another_key_is_refused(client, ledger):
    data = keccak(b"Sign this message to verify your authority of current address !")
    response = post(client, "/v0/auth", {"address": addr(ALICE), "data": "0x" + data.hex(),
                                         "signature": sign_data(BOB, data)})
    assert response.status_code == 401
    assert error_of(response) == {"code": 106, "reason": "Signature Verify Failed."}


def test_arbitrary_signed_data_does_not_sign_in(client, ledger):
    data = keccak(b"something else")
    response = post(client, "/v0/auth", {"address": addr(ALICE), "data": "0x" + data.hex(),
                                         "signature": sign_data(ALICE, data)})
    assert response.status_code == 401 and error_of(response)["code"] == 401


@pytest.mark.parametrize(("body", "code", "field"), [
    ("{", 101, None),
    ({}, 100, "address"),
    ({"address": "0x12", "data": AUTH_DATA, "signature": AUTH_SIGNATURE}, 100, "address"),
    ({"address": AUTH_ADDRESS, "data": "0x1234", "signature": AUTH_SIGNATURE}, 100, "data"),
    ({"address": AUTH_ADDRESS, "data": AUTH_DATA, "signature": "0xdead"}, 100, "signature"),
])
def test_auth_input_errors(client, ledger, body, code, field):
    response = post(client, "/v0/auth", body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code
    if field:
        assert field in {e["field"] for e in error["validationErrors"]}


def test_nonce_signs_in_once(client, ledger):
    response = get(client, f"/v0/auth/nonce?address={addr(ALICE)}")
    assert response.status_code == 200
    issued = response.json_body
    data = keccak(issued["message"].encode())
    assert issued["data"] == "0x" + data.hex()
    body = {"address": addr(ALICE), "data": issued["data"], "signature": sign_data(ALICE, data)}
    first = post(client, "/v0/auth", body)
    assert first.status_code == 200 and claims(first.json_body["token"])["iss"] == addr(ALICE)
    again = post(client, "/v0/auth", body)
    assert again.status_code == 401


def test_nonce_is_bound_to_its_address_and_expires(client, ledger):
    issued = get(client, f"/v0/auth/nonce?address={addr(ALICE)}").json_body
    data = bytes.fromhex(issued["data"][2:])
    # Bob signing Alice's nonce: his signature is valid, the nonce is not his.
    assert post(client, "/v0/auth", {"address": addr(BOB), "data": issued["data"],
                                     "signature": sign_data(BOB, data)}).status_code == 401
    ledger.advance(301)
    assert post(client, "/v0/auth", {"address": addr(ALICE), "data": issued["data"],
                                     "signature": sign_data(ALICE, data)}).status_code == 401


def test_nonce_needs_a_valid_address(client, ledger):
    assert error_of(get(client, "/v0/auth/nonce"))["validationErrors"][0]["code"] == 1000
    assert error_of(get(client, "/v0/auth/nonce?address=0x12"))["validationErrors"][0]["code"] == 1002


def test_fixed_message_can_be_switched_off(client, ledger, monkeypatch):
    monkeypatch.setenv("LAMBDEX_0X_ALLOW_FIXED_MESSAGE", "false")
    response = post(client, "/v0/auth", {"address": AUTH_ADDRESS, "data": AUTH_DATA, "signature": AUTH_SIGNATURE})
    assert response.status_code == 401 and "nonce" in error_of(response)["reason"]
    issued = get(client, f"/v0/auth/nonce?address={addr(ALICE)}").json_body
    data = bytes.fromhex(issued["data"][2:])
    assert post(client, "/v0/auth", {"address": addr(ALICE), "data": issued["data"],
                                     "signature": sign_data(ALICE, data)}).status_code == 200


# -- private routes -----------------------------------------------------------------------------

def _none_token(address: str, now: int) -> str:
    def part(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return part({"alg": "none", "typ": "JWT"}) + "." + part({"exp": now + 100, "iss": address, "nbf": now}) + "."


@pytest.mark.parametrize("route", ["/v0/openOrders", "/v0/orderHistory"])
def test_private_routes_refuse_missing_bad_expired_and_none_tokens(client, ledger, route):
    good = token_for(client, ALICE)
    token = good["Authorization"].split()[1]
    assert get(client, route, good).status_code == 200
    assert get(client, route, {"Authorization": token}).status_code == 200  # without "Bearer"
    now = int(ledger.now())
    forged = sessions.issue_token(addr(ALICE), "another-secret-of-at-least-32-bytes!!", now)
    head, payload, sig = token.split(".")
    tampered_payload = base64.urlsafe_b64encode(json.dumps(
        {**claims(token), "iss": addr(BOB)}).encode()).rstrip(b"=").decode()
    for bad in (None, "", "Bearer", "Basic abc", f"Bearer {head}.{tampered_payload}.{sig}",
                f"Bearer {token[:-2]}xx", f"Bearer {forged}", f"Bearer {_none_token(addr(ALICE), now)}"):
        response = get(client, route, {"Authorization": bad} if bad is not None else {})
        assert response.status_code == 401, bad
        assert error_of(response)["code"] == 401
    ledger.advance(WEEK)
    assert get(client, route, good).status_code == 401  # expired


@pytest.fixture
def market(client, ledger):
    setup_market(ledger)
    fund(ledger, addr(ALICE), "ZRX", 1000 * E18)
    fund(ledger, addr(BOB), "ZRX", 1000 * E18)
    return ledger


def test_a_token_cannot_cancel_or_list_anothers_orders(client, market):
    alice_order = make_order(ALICE, ZRX, 10 * E18, WETH, E18 // 100, market)
    bob_order = make_order(BOB, ZRX, 20 * E18, WETH, E18 // 50, market)
    assert post(client, "/v0/order", alice_order).status_code == 201
    assert post(client, "/v0/order", bob_order).status_code == 201
    alice = token_for(client, ALICE)
    listed = get(client, "/v0/openOrders", alice).json_body
    assert [o["orderHash"] for o in listed] == [order_hash(alice_order)]
    assert all(o["maker"] == addr(ALICE) for o in get(client, "/v0/orderHistory", alice).json_body)
    before = support.table_snapshot()
    response = client.http.delete(f"/v0/orders/{order_hash(bob_order)}", headers=alice)
    assert response.status_code == 403 and error_of(response)["code"] == 403
    assert "owner" in error_of(response)["reason"]
    assert support.table_snapshot() == before
    # No token at all: 401; unknown order: 404; malformed hash: 400.
    assert client.http.delete(f"/v0/orders/{order_hash(bob_order)}").status_code == 401
    assert client.http.delete("/v0/orders/" + "ab" * 32, headers=alice).status_code == 404
    assert client.http.delete("/v0/orders/xyz", headers=alice).status_code == 400
    # Bob cancels his own: 200, status cancelled, his ZRX unlocked.
    bob = token_for(client, BOB)
    response = client.http.delete(f"/v0/orders/0x{order_hash(bob_order)}", headers=bob)
    assert response.status_code == 200, response.body
    assert response.json_body["status"] == "cancelled"
    assert response.json_body["takerTokenAmountCancelled"] == str(E18 // 50)
    from chalicelib.ledger import balances

    assert balances.get_balance(addr(BOB), "ZRX", consistent=True).locked == 0
    again = client.http.delete(f"/v0/orders/{order_hash(bob_order)}", headers=bob)
    assert again.status_code == 400 and "not open" in error_of(again)["reason"]
