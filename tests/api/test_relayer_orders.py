"""POST /v0/order: 0x v1 signed orders onto the ledger (hash, signature, checks, locks)."""

from __future__ import annotations

import copy
import json

import pytest

from chalicelib.auth.ethereum import zeroex_v1_order_hash
from chalicelib.ledger import balances, orders
from tests import support
from tests.api.relayer_helpers import (
    ALICE,
    BOB,
    E18,
    NULL,
    WETH,
    ZRX,
    addr,
    error_of,
    fund,
    make_order,
    order_hash,
    post,
    setup_market,
    sign,
)
from tests.unit.test_ethereum import SPEC_ORDER, SPEC_ORDER_HASH, ZEROX_JS_ORDER, ZEROX_JS_ORDER_HASH


@pytest.fixture
def market(client, ledger):
    setup_market(ledger)
    fund(ledger, addr(ALICE), "ZRX", 1000 * E18)
    fund(ledger, addr(BOB), "WETH", 10 * E18)
    return ledger


def alice_sells(clock, **kw):
    """Alice sells 100 ZRX for 0.1 WETH."""
    return make_order(ALICE, ZRX, 100 * E18, WETH, E18 // 10, clock, **kw)


def test_hash_function_matches_the_published_0x_js_vector():
    # The same vector tests/unit/test_ethereum.py pins (0x.js #getOrderHashHex); the
    # relayer hashes with that one function, so its hashes are 0x v1 hashes.
    assert zeroex_v1_order_hash(ZEROX_JS_ORDER) == ZEROX_JS_ORDER_HASH


def test_signed_order_is_accepted_locked_and_stored(client, market):
    order = alice_sells(market)
    response = post(client, "/v0/order", order)
    assert response.status_code == 201, response.body
    body = response.json_body
    assert body["orderHash"] == order_hash(order)
    assert body["status"] == "activity" and body["side"] == "sell" and body["pair"] == "ZRX-WETH"
    assert body["makerTokenAddress"] == ZRX and body["takerTokenAddress"] == WETH
    assert body["makerLockedAmount"] == str(100 * E18)
    assert body["price"] == pytest.approx(0.001)
    balance = balances.get_balance(addr(ALICE), "ZRX", consistent=True)
    assert (balance.available, balance.locked) == (900 * E18, 100 * E18)
    stored = orders.get_order(order_hash(order))
    assert stored.dialect == "0x" and stored.source == addr(ALICE)
    signed = dict(stored.signed_order)
    assert signed["salt"] == "1" and signed["r"] == order["ecSignature"]["r"]
    assert signed["v"] == str(order["ecSignature"]["v"])
    assert all(isinstance(v, str) for v in signed.values())


def test_resubmitting_is_idempotent(client, market):
    order = alice_sells(market)
    assert post(client, "/v0/order", order).status_code == 201
    before = support.table_snapshot()
    again = post(client, "/v0/order", order)
    assert again.status_code == 200 and again.json_body["orderHash"] == order_hash(order)
    assert support.table_snapshot() == before
    assert balances.get_balance(addr(ALICE), "ZRX", consistent=True).locked == 100 * E18


def test_spec_example_order_is_rejected_signature_not_the_makers(client, market):
    assert zeroex_v1_order_hash(SPEC_ORDER) == SPEC_ORDER_HASH
    before = support.table_snapshot()
    response = post(client, "/v0/order", SPEC_ORDER)
    assert response.status_code == 400
    assert error_of(response) == {"code": 106, "reason": "Signature Verify Failed."}
    assert support.table_snapshot() == before


def _flip_hex(value: str, index: int) -> str:
    body = value[2:]
    i = index % len(body)
    flipped = "1" if body[i] != "1" else "2"
    return "0x" + body[:i] + flipped + body[i + 1:]


_ORDER_FIELDS = ["exchangeContractAddress", "maker", "taker", "makerTokenAddress", "takerTokenAddress",
                 "feeRecipient", "makerTokenAmount", "takerTokenAmount", "makerFee", "takerFee",
                 "expirationUnixTimestampSec", "salt", "ecSignature.r", "ecSignature.s", "ecSignature.v"]


def _one_byte_changed(order: dict, field: str, index: int) -> dict:
    changed = copy.deepcopy(order)
    if field.startswith("ecSignature."):
        part = field.split(".")[1]
        if part == "v":
            changed["ecSignature"]["v"] = 55 - order["ecSignature"]["v"]  # 27 <-> 28
        else:
            changed["ecSignature"][part] = _flip_hex(order["ecSignature"][part], index)
    elif changed[field].startswith("0x"):
        changed[field] = _flip_hex(changed[field], index)
    else:
        digits = changed[field]
        i = index % len(digits)
        changed[field] = digits[:i] + str((int(digits[i]) + 1) % 10) + digits[i + 1:]
        if changed[field].lstrip("0") == "":
            changed[field] = "1"
    return changed


def test_one_byte_change_anywhere_is_refused_and_writes_nothing(client, market):
    order = alice_sells(market, salt=12345678901234567890)
    before = support.table_snapshot()
    for field in _ORDER_FIELDS:
        for index in (0, 7, 19, 39, 63):
            changed = _one_byte_changed(order, field, index)
            assert changed != order
            response = post(client, "/v0/order", changed)
            assert response.status_code == 400, (field, index, response.body)
            assert error_of(response)["code"] == 106, (field, index, response.body)
    assert support.table_snapshot() == before
    assert post(client, "/v0/order", order).status_code == 201  # the original still goes in


def test_signature_by_someone_else_is_refused(client, market):
    order = alice_sells(market)
    forged = sign({k: v for k, v in order.items() if k != "ecSignature"}, BOB)
    response = post(client, "/v0/order", forged)
    assert (response.status_code, error_of(response)["code"]) == (400, 106)


@pytest.mark.parametrize("body", ["{", "not json", b"\xff\xfe", '{"maker": }'])
def test_malformed_json_is_101(client, market, body):
    response = post(client, "/v0/order", body)
    assert response.status_code == 400
    assert error_of(response)["code"] == 101


def test_missing_fields_are_1000_each(client, market):
    order = alice_sells(market)
    del order["salt"], order["ecSignature"]
    error = error_of(post(client, "/v0/order", order))
    assert error["code"] == 100
    assert {(e["field"], e["code"]) for e in error["validationErrors"]} == {("salt", 1000), ("ecSignature", 1000)}


@pytest.mark.parametrize(("field", "value", "code"), [
    ("maker", "0x123", 1002),
    ("makerTokenAddress", "0x" + "zz" * 20, 1002),
    ("taker", 5, 1002),
    ("salt", "12.5", 1001),
    ("makerTokenAmount", "-1", 1001),
    ("expirationUnixTimestampSec", "0x10", 1001),
])
def test_bad_formats(client, market, field, value, code):
    order = {**alice_sells(market), field: value}
    before = support.table_snapshot()
    response = post(client, "/v0/order", order)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == 100 and error["validationErrors"][0] == {
        "field": field, "code": code, "reason": error["validationErrors"][0]["reason"]}
    assert support.table_snapshot() == before


@pytest.mark.parametrize("ec", [
    {"v": 29, "r": "0x" + "11" * 32, "s": "0x" + "11" * 32},
    {"v": 27, "r": "0x" + "11" * 31, "s": "0x" + "11" * 32},
    {"v": 27, "r": "0x" + "11" * 32},
    "0xabc",
])
def test_malformed_signature_is_1005_or_1000(client, market, ec):
    error = error_of(post(client, "/v0/order", {**alice_sells(market), "ecSignature": ec}))
    assert error["code"] == 100
    assert {e["code"] for e in error["validationErrors"]} <= {1000, 1005, 1001}


def test_amount_over_38_digits_is_1004_never_truncated(client, market):
    order = alice_sells(market, makerTokenAmount="1" + "0" * 38)
    before = support.table_snapshot()
    error = error_of(post(client, "/v0/order", order))
    assert error["code"] == 100
    assert error["validationErrors"] == [{"field": "makerTokenAmount", "code": 1004,
                                          "reason": error["validationErrors"][0]["reason"]}]
    assert support.table_snapshot() == before


def test_zero_amount_is_1004(client, market):
    error = error_of(post(client, "/v0/order", alice_sells(market, takerTokenAmount="0")))
    assert error["validationErrors"][0]["field"] == "takerTokenAmount"
    assert error["validationErrors"][0]["code"] == 1004


def test_expired_order_is_refused(client, market):
    order = alice_sells(market, expires_in=0)
    error = error_of(post(client, "/v0/order", order))
    assert error["validationErrors"][0]["field"] == "expirationUnixTimestampSec"
    assert error["validationErrors"][0]["code"] == 1004


def test_other_exchange_contract_is_1003(client, market):
    order = alice_sells(market, exchangeContractAddress="0x12459c951127e0c374ff9105dda097662a027093")
    error = error_of(post(client, "/v0/order", order))
    assert error["validationErrors"][0]["field"] == "exchangeContractAddress"
    assert error["validationErrors"][0]["code"] == 1003


def test_unknown_token_is_1003_and_writes_nothing(client, market):
    order = make_order(ALICE, ZRX, 10, "0x" + "ab" * 20, 10, market)
    before = support.table_snapshot()
    error = error_of(post(client, "/v0/order", order))
    assert error["code"] == 100 and error["validationErrors"][0]["code"] == 1003
    assert support.table_snapshot() == before


def test_insufficient_balance_is_100_with_a_clear_reason(client, market):
    order = alice_sells(market, makerTokenAmount=str(5000 * E18))
    before = support.table_snapshot()
    response = post(client, "/v0/order", order)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == 100 and "insufficient ZRX balance" in error["reason"]
    assert error["validationErrors"][0]["field"] == "makerTokenAmount"
    assert support.table_snapshot() == before


def test_taker_restricted_order_keeps_its_taker(client, market):
    order = alice_sells(market, taker=addr(BOB))
    response = post(client, "/v0/order", order)
    assert response.status_code == 201
    assert response.json_body["taker"] == addr(BOB)
    assert orders.get_order(order_hash(order)).taker == addr(BOB)


def test_body_that_is_not_an_object_is_a_validation_error(client, market):
    response = post(client, "/v0/order", json.dumps([1, 2]))
    assert response.status_code == 400 and error_of(response)["code"] == 100


def test_order_with_null_taker_is_hashed_with_the_zero_address(client, market):
    order = alice_sells(market)
    assert order["taker"] == NULL
    unsigned = {k: v for k, v in order.items() if k != "ecSignature"}
    with_null = {**unsigned, "taker": None, "ecSignature": order["ecSignature"]}
    response = post(client, "/v0/order", with_null)
    assert response.status_code == 201 and response.json_body["orderHash"] == order_hash(order)
