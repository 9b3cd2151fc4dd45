"""What every CoinBTR route shares: the API-key check and the response envelope.

- `ok(data)`: 200 `{"success": true, "msg": "", "data": data}`.
- `render_error` (used for every /api/v1 and /market route by `chalicelib.api.dialects`):
  a domain error (`chalicelib.errors`) becomes its 4xx status and
  `{"success": false, "msg": {"error": message, "code": code}}`, `code` being the error
  class in snake case (`invalid_input`, `insufficient_funds`, `not_found`,
  `unauthorized`, `forbidden`, ...).
- `require_key(request, scope)`: `Authorization: Token <key>`; no key or an unknown key
  -> 401 `unauthorized`, a key without `scope` (read | trade | withdraw) -> 403 `forbidden`.
"""

from __future__ import annotations

import re

from chalice import Response

from chalicelib.api.common import form_or_json_body, json_response, query_params
from chalicelib.auth import apikeys
from chalicelib.errors import Forbidden, LedgerError, Unauthorized
from chalicelib.ledger.stores.api_keys import ApiKey

BODY_TYPES = ["application/json", "application/x-www-form-urlencoded"]  # every CoinBTR route takes both


def request_data(request) -> dict:
    """The query parameters, overlaid by the body (JSON or form) when there is one, whatever the
    method: the spec's own examples send GETs with a JSON body, its wallet clients send forms."""
    data: dict = query_params(request)
    if request.raw_body:
        data.update(form_or_json_body(request))
    return data


def ok(data) -> Response:
    return json_response({"success": True, "msg": "", "data": data})


def error_code(error: LedgerError) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def render_error(error: LedgerError) -> Response:
    return json_response({"success": False, "msg": {"error": error.message, "code": error_code(error)}},
                         error.status)




def require_key(request, scope: str) -> ApiKey:
    header = (request.headers.get("authorization") or "").strip()
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "token" or not key.strip():
        raise Unauthorized("send your API key as Authorization: Token <key>")
    record = apikeys.authenticate(key.strip())
    if record is None:
        raise Unauthorized("unknown API key")
    if scope not in record.scopes:
        raise Forbidden(f"this API key lacks the {scope!r} scope")
    return record
