"""Framework-level refusals in each dialect's own body: unknown paths, wrong methods, wrong
content types, oversized or deeply nested bodies, numbers that do not parse. Never a 5xx,
never Chalice's `{"Code", "Message"}`, never API Gateway's "Missing Authentication Token",
and nothing in the ledger changes."""

from __future__ import annotations

import json

import pytest

import app
from chalicelib.api import dialects
from tests.support import ADMIN, is_dialect_error, table_snapshot


def refused(response, dialect: str, status: int):
    assert response.status_code == status, (response.status_code, response.body)
    body = json.loads(response.body)
    assert is_dialect_error(dialect, body), (dialect, body)
    return body


PREFIXES = [("/api/v1/trading/nope", "coinbtr"), ("/market/nope", "coinbtr"), ("/api/nope/deeper/still", "converter"),
            ("/v0/nope", "relayer"), ("/v2/accounts", "algod"), ("/admin/nope/x", "admin"),
            ("/nope", "counterparty"), ("/assets/XCP/nope/x", "counterparty"), ("/", "counterparty")]


@pytest.mark.parametrize("path,dialect", PREFIXES)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH"])
def test_an_unknown_path_is_the_owning_dialects_404(client, path, dialect, method):
    before = table_snapshot()
    refused(client.http.request(method, path, headers={"Content-Type": "text/plain"}, body=b"x"), dialect, 404)
    assert table_snapshot() == before


def every_route():
    for path, entries in app.app.routes.items():
        methods = {m for m, e in entries.items() if not getattr(e.view_function, "framework_route", False)}
        if methods:
            yield path, methods


def concrete(path: str) -> str:
    return path.replace("{", "x").replace("}", "").replace("+", "")


def test_every_route_answers_a_method_it_lacks_with_405_and_allow(client):
    for path, methods in every_route():
        dialect = dialects.dialect_for(path).name
        for method in sorted(set(dialects.METHODS) - methods - {"HEAD"}):
            response = client.http.request(method, concrete(path), headers=ADMIN, body=b"{}")
            refused(response, dialect, 405)
            assert set(response.headers["Allow"].split(", ")) == methods, (path, method)


def test_every_body_route_refuses_a_content_type_it_does_not_take(client):
    before = table_snapshot()
    for path, methods in every_route():
        for method in methods & {"POST", "PUT", "DELETE"}:
            dialect = dialects.dialect_for(path).name
            response = client.http.request(method, concrete(path), body=b"<a/>",
                                           headers={**ADMIN, "Content-Type": "application/xml"})
            refused(response, dialect, 415)
    assert table_snapshot() == before


BODY_ROUTES = [("/admin/assets", "admin"), ("/v0/order", "relayer"), ("/v0/auth", "relayer"), ("/v0/fees", "relayer"),
               ("/api/convert", "converter"), ("/api/v1/trading/place/buylimit", "coinbtr"),
               ("/api/v1/wallet/withdraw", "coinbtr")]
HOSTILE = {
    "deep": (b"[" * 100_000) + (b"]" * 100_000),
    "nested": b'{"a": ' + b"[" * 20 + b"1" + b"]" * 20 + b"}",
    "huge-int": b'{"amount": ' + b"9" * 5000 + b"}",
    "huge-float": b'{"amount": 1e999, "price": 1e999}',
    "nan": b'{"amount": NaN, "price": Infinity}',
    "not-utf8": b'{"amount": "\xff\xfe"}',
}


@pytest.mark.parametrize("path,dialect", BODY_ROUTES)
def test_hostile_bodies_get_the_dialects_400_or_413(client, path, dialect):
    headers = {**ADMIN, "Content-Type": "application/json", "Authorization": "Bearer test-admin-token"}
    before = table_snapshot()
    for name, raw in HOSTILE.items():
        response = client.http.post(path, headers=headers, body=raw)
        status = 413 if len(raw) > 64 * 1024 else response.status_code
        assert status in (400, 401, 413), (name, response.status_code, response.body)
        refused(response, dialect, status)
    refused(client.http.post(path, headers=headers, body=b'{"x": "' + b"a" * 70_000 + b'"}'), dialect, 413)
    assert table_snapshot() == before


def test_an_algod_request_with_a_wrong_token_is_algods_401(client):
    response = client.http.get("/v2/accounts/X/assets/1?format=msgpack", headers={"X-Algo-API-Token": "nope"})
    refused(response, "algod", 401)


def test_a_path_with_a_trailing_slash_or_query_still_routes(client):
    refused(client.http.get("/v0/nope/?page=1"), "relayer", 404)
    assert client.http.get("/v0/markets/").status_code == 200


def test_each_prefix_belongs_to_one_dialect():
    assert dialects.dialect_for("/api/v1").name == "coinbtr"
    assert dialects.dialect_for("/api/v1x").name == "converter"
    assert dialects.dialect_for("/api").name == "converter"
    assert dialects.dialect_for("/v0").name == "relayer"
    assert dialects.dialect_for("/v2/accounts/{address}/assets/{asset_id}").name == "algod"
    assert dialects.dialect_for("/admin").name == "admin"
    assert dialects.dialect_for("/orders/{tx_hash}").name == "counterparty"
    assert dialects.dialect_for("/health").name == "counterparty"
