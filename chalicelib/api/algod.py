"""Algorand algod v2: `GET /v2/accounts/{address}/assets/{asset-id}` and `GET /v2/status`
(algod's `GET /health` and `GET /ready` are `api/health.py`'s).

JSON by default, MessagePack with `format=msgpack` (same field names). The token is
checked first, as algod does: `X-Algo-API-Token` or `Authorization: Bearer`.
Errors are `{"message": ...}`: 400 malformed address or asset id, 401 bad token,
404 when the account neither holds nor created the asset.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from chalice import Blueprint, Response

from chalicelib import settings
from chalicelib.api.common import is_number, json_response, query_params
from chalicelib.errors import LedgerError
from chalicelib.ledger import assets, balances, privacy
from chalicelib.ledger.clock import current as clock

algod = Blueprint(__name__)

_ADDRESS = re.compile(r"^[A-Z2-7]{58}$")
MAX_UINT64 = assets.MAX_UINT64
PROTOCOL_VERSION = "lambdex"  # /v2/status's consensus version fields: no Algorand protocol runs here


def is_valid_address(address: str) -> bool:
    """58 base32 characters: a 32-byte key and the last 4 bytes of its SHA-512/256."""
    if not _ADDRESS.match(address):
        return False
    try:
        raw = base64.b32decode(address + "======")
    except ValueError:
        return False
    if len(raw) != 36:
        return False
    key, checksum = raw[:32], raw[32:]
    return hashlib.new("sha512_256", key).digest()[-4:] == checksum


def error(status: int, message: str) -> Response:
    return json_response({"message": message}, status)


def render_error(failure: LedgerError) -> Response:
    return error(failure.status, failure.message)


def token_ok(headers) -> bool:
    given = headers.get("x-algo-api-token")
    if given is None:
        auth = headers.get("authorization") or ""
        given = auth[7:] if auth[:7].lower() == "bearer " else None
    return given is not None and any([hmac.compare_digest(given.encode(), t.encode()) for t in settings.algod_tokens()])


def holding_response(address: str, asset, balance) -> dict:
    body: dict = {"round": clock().block_index()}
    if balance is not None:
        body["asset-holding"] = {
            "amount": balance.available + balance.locked,
            "asset-id": int(asset.asset_id),
            "is-frozen": bool(balance.frozen),
        }
    if asset.issuer == address:
        body["created-asset"] = created_asset(asset)
    return body


def created_asset(asset) -> dict:
    params = {
        "creator": asset.issuer,
        "decimals": int(asset.decimals),
        "default-frozen": bool(asset.default_frozen),
        "total": int(asset.supply),
        "name": asset.name,
        "name-b64": base64.b64encode(asset.name.encode()).decode(),
    }
    optional = {"clawback": asset.clawback, "freeze": asset.freeze, "manager": asset.manager,
                "reserve": asset.reserve, "metadata-hash": asset.metadata_hash}
    params.update({k: v for k, v in optional.items() if v})
    if asset.unit_name:
        params["unit-name"] = asset.unit_name
        params["unit-name-b64"] = base64.b64encode(asset.unit_name.encode()).decode()
    if asset.url:
        params["url"] = asset.url
        params["url-b64"] = base64.b64encode(asset.url.encode()).decode()
    return params


@algod.route("/v2/accounts/{address}/assets/{asset_id}", methods=["GET"])
def account_asset_information(address, asset_id):
    request = algod.current_request
    if not token_ok(request.headers):
        return error(401, "Invalid API Token")
    params = query_params(request)
    response_format = params.get("format", "json")
    if response_format not in ("json", "msgpack"):
        return error(400, f"unknown format {response_format!r}: json or msgpack")
    if not is_valid_address(address):
        return error(400, f"failed to parse the address {address!r}: not a valid Algorand address")
    if not is_number(asset_id, 20) or int(asset_id) > MAX_UINT64:
        return error(400, f"failed to parse the asset id {asset_id!r}: expected an unsigned 64-bit integer")
    asset = assets.asset_by_id(int(asset_id))
    # a private (API-key) account reads as holding nothing
    balance = balances.get_balance(address, asset.name) if asset and not privacy.is_private(address) else None
    if asset is None or (balance is None and asset.issuer != address):
        return error(404, "account asset info not found")
    body = holding_response(address, asset, balance)
    if response_format == "msgpack":
        import msgpack

        try:
            packed = msgpack.packb(body)
        except OverflowError:  # a holding grown past uint64 by deposits: JSON still shows it exactly
            return error(400, "the holding exceeds uint64 and has no MessagePack form: ask with format=json")
        return Response(body=packed, status_code=200, headers={"Content-Type": "application/msgpack"})
    return json_response(body)


@algod.route("/v2/status", methods=["GET"])
def node_status():
    """algod's NodeStatusResponse from the ledger's clock: `last-round` is the current block
    index. Lambdex runs no consensus protocol, so the version fields name `lambdex`, and it is
    never catching up nor stopped at an unsupported round."""
    request = algod.current_request
    if not token_ok(request.headers):
        return error(401, "Invalid API Token")
    response_format = query_params(request).get("format", "json")
    if response_format not in ("json", "msgpack"):
        return error(400, f"unknown format {response_format!r}: json or msgpack")
    now = clock()
    at = now.now()
    last_round = now.block_index()
    body = {
        "catchup-time": 0,
        "last-round": last_round,
        "last-version": PROTOCOL_VERSION,
        "next-version": PROTOCOL_VERSION,
        "next-version-round": last_round + 1,
        "next-version-supported": True,
        "stopped-at-unsupported-round": False,
        "time-since-last-round": int((at - now.time_of_block(last_round)) * 1_000_000_000),
    }
    if response_format == "msgpack":
        import msgpack

        return Response(body=msgpack.packb(body), status_code=200, headers={"Content-Type": "application/msgpack"})
    return json_response(body)
