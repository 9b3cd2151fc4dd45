"""/docs works offline: Swagger UI from the pinned package, served by the app, no other origin;
the viewer shows the document without the admin routes, so the page never asks for the admin token."""

from __future__ import annotations

import json
import re

from swagger_ui_bundle import swagger_ui_path

from tests.support import is_dialect_error


def test_the_page_loads_nothing_from_another_origin(client) -> None:
    page = client.http.get("/docs")
    text = page.body.decode()
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', text)  # every script and stylesheet is relative
    assert sorted(re.findall(r'<script src="([^"]+)"', text)) == ["docs/assets/lambdex-docs.js",
                                                                 "docs/assets/swagger-ui-bundle.js"]
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "connect-src 'self'" in policy and "default-src 'none'" in policy
    assert 'id="viewer-notice"' in text  # shown unless the viewer starts


def test_the_assets_are_the_pinned_packages_files(client) -> None:
    for name, kind in (("swagger-ui-bundle.js", "application/javascript"), ("swagger-ui.css", "text/css")):
        response = client.http.get(f"/docs/assets/{name}")
        assert response.status_code == 200 and response.headers["Content-Type"].startswith(kind)
        assert response.body == (swagger_ui_path / name).read_bytes()
    assert swagger_ui_path.name == "swagger-ui-5.31.0"  # OpenAPI 3.1 needs Swagger UI 5
    init = client.http.get("/docs/assets/lambdex-docs.js").body.decode()
    assert 'url: "openapi.json?audience=public"' in init


def test_an_unknown_asset_is_a_404(client) -> None:
    for name in ("swagger-ui.js.map", "..%2Fapp.py", "index.html"):
        response = client.http.get(f"/docs/assets/{name}")
        assert response.status_code == 404 and is_dialect_error("counterparty", json.loads(response.body))


def test_the_viewers_document_has_no_admin_route_nor_admin_token(client) -> None:
    whole = json.loads(client.http.get("/openapi.json").body)
    shown = json.loads(client.http.get("/openapi.json?audience=public").body)
    assert [p for p in whole["paths"] if p.startswith("/admin")]
    assert [p for p in shown["paths"] if p.startswith("/admin")] == []
    assert set(shown["paths"]) == {p for p in whole["paths"] if not p.startswith("/admin")}
    assert "adminBearer" in whole["components"]["securitySchemes"]
    assert "adminBearer" not in shown["components"]["securitySchemes"]
    assert "adminBearer" not in json.dumps(shown)
    bad = client.http.get("/openapi.json?audience=admin")
    assert bad.status_code == 400 and is_dialect_error("counterparty", json.loads(bad.body))
