"""`GET /openapi.json` (the OpenAPI 3.1 document of every route) and `GET /docs` (a page rendering it).

This module stays tiny on purpose: app.py imports it at every cold start, while the
document is built (by `chalicelib.api.openapi`, imported here lazily) only when one of
these two routes is asked for, then kept for the life of the process.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.errors import InvalidInput, NotFound

docs = Blueprint(__name__)

_cache: dict[str, object] = {}


def document() -> dict:
    if "document" not in _cache:
        from chalicelib.api import openapi

        _cache["document"] = openapi.build(docs.current_app.routes)
    return _cache["document"]  # type: ignore[return-value]


def base_path() -> str:
    """The path the API is served under ("/api" for API Gateway's stage, "" locally)."""
    path = (docs.current_request.context or {}).get("path") or ""
    return path[: -len("/openapi.json")] if path.endswith("/openapi.json") else ""


@docs.route("/openapi.json", methods=["GET"])
def openapi_json():
    """The OpenAPI 3.1 document of this API (`audience=public`: without the admin routes)."""
    import json

    from chalicelib.api import openapi

    audience = (docs.current_request.query_params or {}).get("audience")
    if audience not in (None, "public"):  # rendered in the root namespace's (Counterparty's) error shape
        raise InvalidInput("audience is public, or absent for the whole document", field="audience")
    key = f"json:{base_path()}:{audience}"
    if key not in _cache:
        shown = openapi.public(document()) if audience else document()
        _cache[key] = json.dumps({**shown, "servers": [{"url": base_path() or "/"}]})
    return Response(body=_cache[key], status_code=200, headers={"Content-Type": "application/json"})


# The page's scripts and styles come from this API only: no CDN, no other origin.
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@docs.route("/docs", methods=["GET"])
def docs_page():
    """An HTML page rendering the OpenAPI document with Swagger UI (a plain list of routes without scripts)."""
    from chalicelib.api import openapi

    if "html" not in _cache:
        _cache["html"] = openapi.html_page(document())
    return Response(body=_cache["html"], status_code=200, headers={
        "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": PAGE_POLICY})


ASSET_TYPES = {"swagger-ui-bundle.js": "application/javascript; charset=utf-8",
               "swagger-ui.css": "text/css; charset=utf-8",
               "lambdex-docs.js": "application/javascript; charset=utf-8"}


def asset(name: str) -> str:
    """Swagger UI's files from the pinned `swagger-ui-bundle-v2` package (Apache-2.0, its
    LICENSE ships in the package's dist-info), or the page's own start-up script."""
    from chalicelib.api import openapi

    if name == "lambdex-docs.js":
        return openapi.INIT_SCRIPT
    from swagger_ui_bundle import swagger_ui_path

    return (swagger_ui_path / name).read_text(encoding="utf-8")


@docs.route("/docs/assets/{name}", methods=["GET"])
def docs_asset(name):
    """Swagger UI's script and stylesheet (and the page's start-up script), served by this API."""
    if name not in ASSET_TYPES:
        raise NotFound(f"no asset {name!r}: {', '.join(ASSET_TYPES)}")
    key = f"asset:{name}"
    if key not in _cache:
        _cache[key] = asset(name)
    return Response(body=_cache[key], status_code=200, headers={
        "Content-Type": ASSET_TYPES[name], "Cache-Control": "public, max-age=3600"})
