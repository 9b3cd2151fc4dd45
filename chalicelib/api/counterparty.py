"""Counterparty REST API v2: balances, assets, orders and order matches.

Shapes follow `counterparty-rest-v2.md` (quantities are integers in base units) minus
the `MAX(rowid)` SQL artifact. Every list takes `limit` (default 100, at most 1000),
`offset` and `sort` (`field` or `-field`); asset names are case-insensitive.
Errors: `{"error": message}` with 400 or 404.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.common import errors_as, json_response, paging, query_params, sort_rows
from chalicelib.errors import LedgerError
from chalicelib.ledger import assets, balances

counterparty = Blueprint(__name__)


def render_error(error: LedgerError):
    return json_response({"error": error.message}, error.status)


cp_errors = errors_as(render_error)


def page(rows: list[dict], params: dict[str, str]) -> list[dict]:
    limit, offset = paging(params)
    return sort_rows(rows, params.get("sort"))[offset:offset + limit]


def balance_row(balance) -> dict:
    return {"address": balance.address, "asset": balance.asset, "quantity": balance.available}


def asset_info(asset) -> dict:
    return {
        "asset": asset.name,
        "asset_longname": asset.asset_longname,
        "description": asset.description,
        "divisible": asset.decimals > 0,
        "issuer": asset.issuer,
        "locked": asset.locked,
        "owner": asset.owner,
        "supply": asset.supply,
    }


@counterparty.route("/addresses/{address}/balances", methods=["GET"])
@cp_errors
def address_balances(address):
    rows = [balance_row(b) for b in balances.balances_of(address)]
    return json_response(page(rows, query_params(counterparty.current_request)))


@counterparty.route("/assets/{asset}", methods=["GET"])
@cp_errors
def asset_information(asset):
    return json_response([asset_info(assets.get_asset(asset))])


@counterparty.route("/assets/{asset}/balances", methods=["GET"])
@cp_errors
def asset_balances(asset):
    params = query_params(counterparty.current_request)
    name = assets.get_asset(asset).name
    if params.get("sort"):
        rows = [balance_row(b) for b in balances.holders_of(name, limit=10**9)]
        return json_response(page(rows, params))
    limit, offset = paging(params)
    return json_response([balance_row(b) for b in balances.holders_of(name, limit, offset)])
