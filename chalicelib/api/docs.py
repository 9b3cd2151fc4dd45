"""`GET /openapi.json` (the OpenAPI 3.1 document of every route) and `GET /docs` (a page rendering it).

This module stays tiny on purpose: app.py imports it at every cold start, while the
document is built (by `chalicelib.api.openapi`, imported here lazily) only when one of
these two routes is asked for, then kept for the life of the process.
"""

from __future__ import annotations

from chalice import Blueprint, Response

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
    """The OpenAPI 3.1 document of this API."""
    import json

    key = f"json:{base_path()}"
    if key not in _cache:
        _cache[key] = json.dumps({**document(), "servers": [{"url": base_path() or "/"}]})
    return Response(body=_cache[key], status_code=200, headers={"Content-Type": "application/json"})


@docs.route("/docs", methods=["GET"])
def docs_page():
    """An HTML page rendering the OpenAPI document (a plain list of routes without scripts)."""
    from chalicelib.api import openapi

    if "html" not in _cache:
        _cache["html"] = openapi.html_page(document())
    return Response(body=_cache["html"], status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})
