"""CoinBTR envelope and API-key auth, shared by its wallet, trading and market routes.

Success: `{"success": true, "msg": "", "data": ...}`; failure: `{"success": false,
"msg": {"error": message, "code": code}}` with a 4xx status. Keys come in
`Authorization: Token <key>`, each with scopes (read, trade, withdraw).
"""

from __future__ import annotations

from chalice import Response

from chalicelib.api.common import errors_as, json_response
from chalicelib.auth import apikeys
from chalicelib.errors import Forbidden, LedgerError, Unauthorized
from chalicelib.ledger.models import ApiKey


def ok(data) -> Response:
    return json_response({"success": True, "msg": "", "data": data})


def render_error(error: LedgerError) -> Response:
    code = error.field and f"{type(error).__name__}:{error.field}" or type(error).__name__
    return json_response({"success": False, "msg": {"error": error.message, "code": code}}, error.status)


coinbtr_errors = errors_as(render_error)


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
