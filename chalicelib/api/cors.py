"""Which browser origins may call which routes (CORS), from ``LAMBDEX_CORS_ORIGINS``.

``LAMBDEX_CORS_ORIGINS`` is ``*`` (the default: any page may call the public dialects, as
real algod answers ``Access-Control-Allow-Origin: *``) or a comma-separated list of
origins (``https://app.example.com,http://localhost:3000``). Three kinds of route:

- public reads and the sign-in routes: ``Access-Control-Allow-Origin`` = the setting;
- credential-bearing routes (a CoinBTR key, a relayer session, the algod token in
  ``Authorization`` or ``X-Algo-API-Token``): the same origins, those headers allowed in
  preflights, and, when origins are listed, ``Access-Control-Allow-Credentials: true``;
- ``/admin``: no CORS at all. The admin token belongs in an operator's terminal, not in a
  web page, so browsers on other origins are refused by their own preflight.

Chalice turns a route's ``CORSConfig`` into API Gateway's preflight (an OPTIONS mock
integration) and adds the headers to every response. API Gateway's preflight is static:
with several origins listed it names the first one; actual responses name the caller's
origin when it is listed (`vary_origin`, with ``Vary: Origin``), and the local server's
preflights do too.
"""

from __future__ import annotations

from chalice import CORSConfig

from chalicelib import settings

ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-Algo-API-Token", "X-Requested-With"]
MAX_AGE_SECONDS = 600
ADMIN_PREFIX = "/admin"
CREDENTIAL_PREFIXES = ("/api/v1/trading/", "/api/v1/wallet/", "/api/v1/user/", "/v2/accounts/",
                       "/v0/openOrders", "/v0/orderHistory", "/v0/orders/")


def origins() -> list[str]:
    raw = settings.get("LAMBDEX_CORS_ORIGINS")
    listed = [origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip()]
    return ["*"] if not listed or "*" in listed else listed


def is_credentialed(path: str) -> bool:
    return path.startswith(CREDENTIAL_PREFIXES)


def config_for(path: str) -> CORSConfig | None:
    """The CORS configuration of the route at ``path`` (None: no CORS)."""
    if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
        return None
    allowed = origins()
    credentials = allowed != ["*"] and is_credentialed(path)
    return CORSConfig(allow_origin=allowed[0], allow_headers=ALLOWED_HEADERS, max_age=MAX_AGE_SECONDS,
                      allow_credentials=True if credentials else None)


def apply(routes: dict) -> None:
    """Set every route's CORS configuration (all methods of a path share one, as Chalice requires)."""
    for path, methods in routes.items():
        config = config_for(path)
        for entry in methods.values():
            entry.cors = config


def allowed_origin(request_origin: str | None) -> str | None:
    """What ``Access-Control-Allow-Origin`` says to a caller from ``request_origin``."""
    allowed = origins()
    if allowed == ["*"]:
        return "*"
    if request_origin and request_origin.rstrip("/") in allowed:
        return request_origin.rstrip("/")
    return None


def vary_origin(request_headers, response_headers: dict) -> None:
    """With several origins listed, name the caller's (or none) instead of the first one."""
    if "Access-Control-Allow-Origin" not in response_headers or len(origins()) < 2:
        return
    origin = allowed_origin(request_headers.get("origin"))
    response_headers["Vary"] = "Origin"
    if origin is None:
        for name in [n for n in response_headers if n.startswith("Access-Control-")]:
            del response_headers[name]
    else:
        response_headers["Access-Control-Allow-Origin"] = origin
