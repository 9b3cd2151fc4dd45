"""/openapi.json documents exactly the registered routes and validates; /docs renders it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

import app
from chalicelib.api import openapi

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": "Bearer test-admin-token"}
JSON = {"Content-Type": "application/json"}


def registered() -> set[tuple[str, str]]:
    """Every dialect operation (not the catch-all and 405 routes that chalicelib.api.dialects adds)."""
    return {(path, method.lower()) for path, methods in app.app.routes.items() for method, entry in methods.items()
            if not getattr(entry.view_function, "framework_route", False)}


def test_every_route_and_method_is_documented_and_nothing_else():
    document = openapi.build(app.app.routes)
    documented = {(path, method) for path, methods in document["paths"].items() for method in methods}
    assert documented == registered()
    assert ("/openapi.json", "get") in documented and ("/docs", "get") in documented


def test_the_document_validates_and_names_every_path_parameter():
    document = openapi.build(app.app.routes)
    validate(document)
    for path, methods in document["paths"].items():
        for op in methods.values():
            in_path = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert in_path == set(app.app.routes[path][next(iter(app.app.routes[path]))].view_args)
    schemes = document["components"]["securitySchemes"]
    assert {"adminBearer", "algodToken", "coinbtrToken", "relayerJwt"} <= set(schemes)


def test_the_tables_name_only_views_that_exist():
    names = {e.view_function.__name__ for methods in app.app.routes.values() for e in methods.values()}
    qualified = {f"{e.view_function.__module__.rsplit('.', 1)[-1]}.{e.view_function.__name__}"
                 for methods in app.app.routes.values() for e in methods.values()}
    for table in (openapi.BODIES, openapi.QUERY, openapi.RESPONSES, openapi.SECURITY, openapi.SCOPES):
        assert set(table) <= names | qualified, set(table) - names - qualified
    modules = {e.view_function.__module__.rsplit(".", 1)[-1] for m in app.app.routes.values() for e in m.values()
               if not getattr(e.view_function, "framework_route", False)}
    assert modules == set(openapi.DIALECTS)


def test_building_is_lazy_importing_the_app_does_not_import_the_builder():
    code = "import sys, app; print('chalicelib.api.openapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_openapi_json_is_served_with_a_server_and_docs_render_a_list_without_scripts(client):
    r = client.http.get("/openapi.json")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    document = json.loads(r.body)
    assert document["servers"] == [{"url": "/"}]
    assert set(document["paths"]) == {path for path, _ in registered()}
    page = client.http.get("/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    text = page.body.decode()
    assert '<script src="docs/assets/swagger-ui-bundle.js"></script>' in text  # served here, not by a CDN
    for path, _ in registered():  # the server-side list, shown when the viewer does not load
        assert f"<code>{path}</code>" in text


def response_schema(document, path, method, status):
    schema = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def check(document, path, method, response):
    schema = response_schema(document, path, method, response.status_code)
    resolver_schema = {"$ref": "#/x", "x": schema, "components": document["components"]}
    jsonschema.validate(json.loads(response.body), resolver_schema)


@pytest.mark.parametrize("dialect", ["admin", "coinbtr", "counterparty", "converter", "relayer"])
def test_real_responses_match_the_documented_shapes(client, dialect):
    """The main shapes, on real responses of each dialect (success and error)."""
    document = openapi.build(app.app.routes)
    post = lambda path, body, headers=ADMIN: client.http.post(path, body=json.dumps(body),  # noqa: E731
                                                              headers={**JSON, **headers})
    asset = post("/admin/assets", {"name": "ZRX", "decimals": 8, "supply": 100, "issuer": "alice",
                                   "token_address": "0x" + "1" * 40})
    post("/admin/assets", {"name": "WETH", "decimals": 8, "token_address": "0x" + "2" * 40})
    market = post("/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH", "fee": "0.001"})
    key = post("/admin/apikeys", {"public": True, "account": "alice", "scopes": ["read", "trade"]})
    if dialect == "admin":
        check(document, "/admin/assets", "post", asset)
        check(document, "/admin/markets", "post", market)
        check(document, "/admin/apikeys", "post", key)
        check(document, "/admin/assets", "get", client.http.get("/admin/assets", headers=ADMIN))
        check(document, "/admin/assets", "post", post("/admin/assets", {"name": "!"}))
    elif dialect == "coinbtr":
        token = {"Authorization": f"Token {json.loads(key.body)['key']}"}
        placed = post("/api/v1/trading/place/selllimit", {"market": "ZRX-WETH", "price": "1", "amount": "0.0000005"},
                      token)
        check(document, "/api/v1/trading/place/selllimit", "post", placed)
        check(document, "/api/v1/trading/listopenorders", "get",
              client.http.get("/api/v1/trading/listopenorders", headers=token))
        check(document, "/market/getorderbook", "get", client.http.get("/market/getorderbook?market=ZRX-WETH"))
        check(document, "/market/gettiker", "get", client.http.get("/market/gettiker?market=ZRX-WETH"))
        check(document, "/api/v1/wallet/listbalances", "get", client.http.get("/api/v1/wallet/listbalances",
                                                                              headers=token))
        check(document, "/api/v1/trading/place/buylimit", "post",
              post("/api/v1/trading/place/buylimit", {"market": "ZRX-WETH", "price": "1", "amount": "5"}, token))
    elif dialect == "counterparty":
        check(document, "/addresses/{address}/balances", "get", client.http.get("/addresses/alice/balances"))
        check(document, "/assets/{asset}", "get", client.http.get("/assets/ZRX"))
        check(document, "/assets/{asset}", "get", client.http.get("/assets/NOPE"))
    elif dialect == "converter":
        check(document, "/api/coins", "get", client.http.get("/api/coins"))
        check(document, "/api/coins/{symbol}", "get", client.http.get("/api/coins/NOPE"))
    else:
        check(document, "/v0/markets", "get", client.http.get("/v0/markets"))
        check(document, "/v0/token_pairs", "get", client.http.get("/v0/token_pairs"))
        check(document, "/v0/orderbook", "get", client.http.get("/v0/orderbook?pair=ZRX-WETH"))
        check(document, "/v0/order", "post", post("/v0/order", {"maker": "x"}, {}))
