"""Which dialect owns a path, and the one place where errors become that dialect's body.

Each dialect is a small kit (its error renderer; its auth check and paging where it has
them) named by the path prefixes it owns. `install(app)` runs once, after every Blueprint
is registered, and:

- wraps every view so that a domain error (`chalicelib.errors.LedgerError`) it raises is
  rendered by the dialect owning the route (views carry no error decorator);
- registers the methods a path lacks, answering 405 in that dialect's body (API Gateway
  would otherwise answer 403 "Missing Authentication Token" itself, before any code runs);
- registers the greedy catch-all `/{proxy+}` (and `/`) for unknown paths: the owning
  dialect's 404 (explicit routes always win over a greedy one in API Gateway; locally,
  `chalicelib.local.routing` gives Chalice's local server the same rule);
- adds one HTTP middleware that refuses oversized bodies (413) and turns whatever Chalice
  itself would answer (its 415 for a content type a route does not take, its 400 for a
  binary response without a matching Accept header, its 500 for an unexpected exception)
  into the owning dialect's body. No response leaves with Chalice's `{"Code", "Message"}`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from chalice import Chalice, Response

from chalicelib.api import admin, algod, coinbtr_common, converter, counterparty, relayer
from chalicelib.api.common import MAX_BODY_BYTES
from chalicelib.errors import (
    InternalError,
    InvalidInput,
    LedgerError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)

log = logging.getLogger("lambdex.api")

# API Gateway's methods; OPTIONS stays with CORS (Chalice answers preflights itself).
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
CATCH_ALL = "/{proxy+}"


@dataclass(frozen=True)
class Dialect:
    name: str
    prefixes: tuple[str, ...]  # "/v0/" owns "/v0" and everything under it
    render_error: Callable[[LedgerError], Response]
    authenticate: Callable | None = None
    paging: Callable | None = None


# Longest prefix wins; the root namespace (and every path no prefix claims) is Counterparty's,
# whose REST v2 routes live at the root.
DIALECTS = (
    Dialect("coinbtr", ("/api/v1/", "/market/"), coinbtr_common.render_error,
            authenticate=coinbtr_common.require_key),
    Dialect("converter", ("/api/",), converter.render_error),
    Dialect("relayer", ("/v0/",), relayer.render_error, authenticate=relayer.authenticated,
            paging=relayer.page_params),
    Dialect("algod", ("/v2/",), algod.render_error),
    Dialect("admin", ("/admin/",), admin.render_error, authenticate=admin.require_admin),
    # the live market pages: their own 404s are pages; what this module answers there is JSON
    Dialect("ui", ("/ui/",), counterparty.render_error),
    Dialect("counterparty", ("/",), counterparty.render_error, paging=counterparty.page),
)
_BY_PREFIX = sorted(((p, d) for d in DIALECTS for p in d.prefixes), key=lambda pd: len(pd[0]), reverse=True)


def dialect_for(path: str) -> Dialect:
    path = "/" + path.lstrip("/")
    for prefix, dialect in _BY_PREFIX:
        if path.startswith(prefix) or path == prefix.rstrip("/"):
            return dialect
    return DIALECTS[-1]


def request_path(request) -> str:
    """The path asked for: the route's pattern, or what the catch-all captured."""
    if request.path == CATCH_ALL:
        return "/" + ((request.uri_params or {}).get("proxy") or "")
    return request.path


def _guarded(view: Callable, dialect: Dialect) -> Callable:
    @wraps(view)
    def guarded(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except LedgerError as error:
            log.info("request refused", extra={"view": view.__name__, "status": error.status,
                                                "reason": error.message})
            return dialect.render_error(error)

    return guarded


def _framework(view: Callable) -> Callable:
    view.framework_route = True  # left out of /openapi.json: not an operation of any dialect
    return view


def _method_not_allowed(dialect: Dialect, allowed: list[str]) -> Callable:
    def method_not_allowed(**_):
        response = dialect.render_error(MethodNotAllowed(f"this path takes {', '.join(allowed)}"))
        response.headers["Allow"] = ", ".join(allowed)
        return response

    return _framework(method_not_allowed)


def _unknown_path(app: Chalice) -> Callable:
    def unknown_path(**_):
        path = request_path(app.current_request)
        return dialect_for(path).render_error(NotFound(f"no route {path}"))

    return _framework(unknown_path)


def _chalice_error(response: Response) -> LedgerError | None:
    body = response.body
    if not (isinstance(body, dict) and set(body) == {"Code", "Message"}):
        return None
    status, message = response.status_code, str(body["Message"])
    if status == 415:
        return UnsupportedMediaType(message)
    if status == 405:
        return MethodNotAllowed(message)
    if status < 500:
        error = InvalidInput(message)
        error.status = status
        return error
    return InternalError("internal error")


def _errors_in_dialect(event, get_response):
    dialect = dialect_for(request_path(event))
    try:
        if len(event.raw_body or b"") > MAX_BODY_BYTES:
            return dialect.render_error(PayloadTooLarge(f"the request body is larger than {MAX_BODY_BYTES} bytes"))
        response = get_response(event)
    except Exception:  # a fault outside any view (Chalice's own request handling)
        log.exception("request failed", extra={"route": event.path})
        return dialect.render_error(InternalError("internal error"))
    error = _chalice_error(response)
    if error is None:
        return response
    rendered = dialect.render_error(error)
    if "Allow" in response.headers:
        rendered.headers["Allow"] = response.headers["Allow"]
    return rendered


def install(app: Chalice) -> None:
    """Call once, after the last Blueprint is registered."""
    for path, entries in list(app.routes.items()):
        dialect = dialect_for(path)
        for entry in entries.values():
            entry.view_function = _guarded(entry.view_function, dialect)
        taken = sorted(entries)
        missing = [m for m in METHODS if m not in entries]
        if missing:
            cors = next(iter(entries.values())).cors
            app.route(path, methods=missing, name=f"not_allowed{path}", content_types=["*/*"], cors=cors)(
                _method_not_allowed(dialect, taken))
    for path in (CATCH_ALL, "/"):
        free = [m for m in METHODS if m not in app.routes.get(path, {})]
        if free:
            app.route(path, methods=free, name=f"unknown{path}", content_types=["*/*"])(_unknown_path(app))
    app.register_middleware(_errors_in_dialect, "http")
