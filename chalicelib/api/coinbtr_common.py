"""What every CoinBTR route shares: the API-key check and the response envelope.

    @coinbtr.route("/api/v1/...", methods=["GET"])
    @coinbtr_errors
    def view():
        key = require_key(coinbtr.current_request, "read")   # ApiKey: key.account, key.scopes
        return ok({...})

- `ok(data)`: 200 `{"success": true, "msg": "", "data": data}`.
- `coinbtr_errors`: a domain error (`chalicelib.errors`) becomes its 4xx status and
  `{"success": false, "msg": {"error": message, "code": code}}`, `code` being the error
  class in snake case (`invalid_input`, `insufficient_funds`, `not_found`,
  `unauthorized`, `forbidden`, ...); anything unexpected is logged and becomes a 500
  with code `internal_error`.
- `require_key(request, scope)`: `Authorization: Token <key>`; no key or an unknown key
  -> 401 `unauthorized`, a key without `scope` (read | trade | withdraw) -> 403 `forbidden`.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable

from chalice import Response

from chalicelib.api.common import json_response
from chalicelib.auth import apikeys
from chalicelib.errors import Forbidden, LedgerError, Unauthorized
from chalicelib.ledger.models import ApiKey

log = logging.getLogger("lambdex.api.coinbtr")


def ok(data) -> Response:
    return json_response({"success": True, "msg": "", "data": data})


def error_code(error: LedgerError) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def fail(message: str, code: str, status: int) -> Response:
    return json_response({"success": False, "msg": {"error": message, "code": code}}, status)


def coinbtr_errors(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except LedgerError as error:
            log.info("request refused", extra={"view": view.__name__, "status": error.status,
                                                "reason": error.message})
            return fail(error.message, error_code(error), error.status)
        except Exception:
            log.exception("request failed", extra={"view": view.__name__})
            return fail("internal error, please try again later", "internal_error", 500)

    return wrapper


def require_key(request, scope: str) -> ApiKey:
    header = (request.headers or {}).get("authorization") or ""
    kind, _, key = header.strip().partition(" ")
    if kind.lower() != "token" or not key.strip():
        raise Unauthorized("missing API key: send Authorization: Token <key>")
    record = apikeys.authenticate(key.strip())
    if record is None:
        raise Unauthorized("invalid API key")
    if scope not in (record.scopes or []):
        raise Forbidden(f"this API key lacks the '{scope}' scope")
    return record
