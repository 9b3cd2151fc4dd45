"""CORS per route (chalicelib.api.cors) on actual responses; preflights are answered by
API Gateway (tests/unit/test_packaging.py) and by the local server
(tests/integration/test_browser_cors.py, in Chromium)."""

from __future__ import annotations

import pytest

from chalicelib.api import cors
from tests.support import ADMIN

ORIGIN = {"Origin": "https://app.example.com"}


def test_public_and_private_reads_allow_any_origin_by_default(client) -> None:
    for path in ("/v0/token_pairs", "/api/v1/wallet/listbalances", "/health"):
        response = client.http.get(path, headers=ORIGIN)
        assert response.headers["Access-Control-Allow-Origin"] == "*", path
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"].split(",")
        assert "Access-Control-Allow-Credentials" not in response.headers


def test_admin_routes_carry_no_cors_headers(client) -> None:
    response = client.http.get("/admin/assets", headers={**ADMIN, **ORIGIN})
    assert response.status_code == 200
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_listed_origins_are_named_back_with_credentials_on_private_routes(client, monkeypatch) -> None:
    monkeypatch.setenv("LAMBDEX_CORS_ORIGINS", "https://a.example, https://app.example.com/")
    private = client.http.get("/api/v1/wallet/listbalances", headers=ORIGIN)
    assert private.status_code == 401  # no key: still readable by the page, with the headers
    assert private.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert private.headers["Vary"] == "Origin"
    other = client.http.get("/v0/token_pairs", headers={"Origin": "https://evil.example"})
    assert not [h for h in other.headers if h.lower().startswith("access-control-")]
    assert other.headers["Vary"] == "Origin"


@pytest.mark.parametrize("setting, expected", [
    ("*", ["*"]), ("", ["*"]), ("https://a.example,*", ["*"]),
    (" https://a.example/ , http://localhost:3000", ["https://a.example", "http://localhost:3000"]),
])
def test_origins_setting(monkeypatch, setting: str, expected: list[str]) -> None:
    monkeypatch.setenv("LAMBDEX_CORS_ORIGINS", setting)
    assert cors.origins() == expected


def test_credentials_only_with_listed_origins_and_only_on_credential_routes(monkeypatch) -> None:
    headers = cors.config_for("/v0/openOrders").get_access_control_headers()
    assert headers["Access-Control-Allow-Origin"] == "*" and "Access-Control-Allow-Credentials" not in headers
    monkeypatch.setenv("LAMBDEX_CORS_ORIGINS", "https://a.example")
    private = cors.config_for("/v0/openOrders").get_access_control_headers()
    public = cors.config_for("/v0/orderbook").get_access_control_headers()
    assert private["Access-Control-Allow-Credentials"] == "true"
    assert private["Access-Control-Allow-Origin"] == public["Access-Control-Allow-Origin"] == "https://a.example"
    assert "Access-Control-Allow-Credentials" not in public
    assert cors.config_for("/admin") is None and cors.config_for("/admin/markets/{market_id}") is None
    assert cors.config_for("/administrator") is not None
