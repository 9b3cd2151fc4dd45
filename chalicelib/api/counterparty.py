"""Counterparty REST API v2: balances, assets, orders and order matches.

Shapes follow `counterparty-rest-v2.md` (quantities are integers in base units) minus
the `MAX(rowid)` SQL artifact, plus the `*_normalized` decimal strings counterparty-core's v2
API adds to every quantity (`"1.00000000"` for an 8-decimal asset, the integer itself for an
indivisible one; `divisible` is true only for 8 decimals, Counterparty's one divisible scale).
Every list takes `limit` (default 100, at most 1000), `offset` and `sort` (`field` or `-field`);
asset names are case-insensitive.
Errors: `{"error": message}` with 400 or 404.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.common import BadRequest, json_response, paging, query_params, sort_rows
from chalicelib.errors import LedgerError
from chalicelib.ledger import assets, balances, market_data, orders, privacy
from chalicelib.ledger.addresses import canonical_address
from chalicelib.ledger.amounts import to_decimal_string

counterparty = Blueprint(__name__)


def render_error(error: LedgerError):
    return json_response({"error": error.message}, error.status)




# `sort=` re-orders at most this many rows of a list (in the list's own order, newest or
# largest first), so a sorted request reads a bounded number of items however long the list.
MAX_SORTED_ROWS = 5000


def page(rows: list[dict], params: dict[str, str]) -> list[dict]:
    limit, offset = paging(params)
    return sort_rows(rows, params.get("sort"))[offset:offset + limit]


COUNTERPARTY_DECIMALS = 8  # a divisible Counterparty asset has 8 decimals, an indivisible one none


def normalized(quantity: int, asset_name: str | None) -> str:
    """The quantity in whole units as counterparty-core shows it; an asset of another precision
    (a ledger asset Counterparty could not issue) shows its own decimals, so it never misreads."""
    asset = assets.find_asset(asset_name) if asset_name else None
    decimals = int(asset.decimals) if asset is not None else COUNTERPARTY_DECIMALS
    return to_decimal_string(int(quantity), decimals) if decimals else str(int(quantity))


def balance_row(balance) -> dict:
    return {"address": balance.address, "asset": balance.asset, "quantity": balance.available,
            "quantity_normalized": normalized(balance.available, balance.asset)}


def asset_info(asset) -> dict:
    return {
        "asset": asset.name,
        "asset_longname": asset.asset_longname,
        "description": asset.description,
        "divisible": int(asset.decimals) == COUNTERPARTY_DECIMALS,
        "issuer": asset.issuer,
        "locked": asset.locked,
        "owner": asset.owner,
        "supply": asset.supply,
    }


@counterparty.route("/addresses/{address}/balances", methods=["GET"])
def address_balances(address):
    address = canonical_address(address)
    # a private (API-key) account reads as holding nothing, like an unknown address
    rows = [] if privacy.is_private(address) else [balance_row(b) for b in balances.balances_of(address)]
    return json_response(page(rows, query_params(counterparty.current_request)))


@counterparty.route("/assets/{asset}", methods=["GET"])
def asset_information(asset):
    return json_response([asset_info(assets.get_asset(asset))])


@counterparty.route("/assets/{asset}/balances", methods=["GET"])
def asset_balances(asset):
    params = query_params(counterparty.current_request)
    name = assets.get_asset(asset).name
    if params.get("sort"):
        rows = [balance_row(b) for b in balances.holders_of(name, limit=MAX_SORTED_ROWS)
                if not privacy.is_private(b.address)]
        return json_response(page(rows, params))
    limit, offset = paging(params)
    # private (API-key) accounts are left out of the page
    return json_response([balance_row(b) for b in balances.holders_of(name, limit, offset)
                          if not privacy.is_private(b.address)])


ORDER_FIELDS = (
    "tx_index", "tx_hash", "block_index", "source", "give_asset", "give_quantity", "give_remaining",
    "get_asset", "get_quantity", "get_remaining", "expiration", "expire_index", "fee_required",
    "fee_required_remaining", "fee_provided", "fee_provided_remaining", "status",
)
MATCH_FIELDS = (
    "id", "tx0_index", "tx0_hash", "tx0_address", "tx1_index", "tx1_hash", "tx1_address", "forward_asset",
    "forward_quantity", "backward_asset", "backward_quantity", "tx0_block_index", "tx1_block_index",
    "block_index", "tx0_expiration", "tx1_expiration", "match_expire_index", "fee_paid", "status",
)
MATCH_STATUSES = ("pending", "completed", "expired")


# quantity field -> the field naming its asset (None: a fee, shown with the fee's asset or 8 decimals)
ORDER_NORMALIZED = {"give_quantity": "give_asset", "give_remaining": "give_asset", "get_quantity": "get_asset",
                    "get_remaining": "get_asset", "fee_required": None, "fee_required_remaining": None,
                    "fee_provided": None, "fee_provided_remaining": None}
MATCH_NORMALIZED = {"forward_quantity": "forward_asset", "backward_quantity": "backward_asset",
                    "fee_paid": "fee_asset"}


def with_normalized(record, fields: tuple[str, ...], quantities: dict[str, str | None]) -> dict:
    row = {field: getattr(record, field) for field in fields}
    for field, asset_field in quantities.items():
        row[f"{field}_normalized"] = normalized(row[field], getattr(record, asset_field) if asset_field else None)
    return row


def order_row(order) -> dict:
    return with_normalized(order, ORDER_FIELDS, ORDER_NORMALIZED)


def match_row(match) -> dict:
    return with_normalized(match, MATCH_FIELDS, MATCH_NORMALIZED)


def status_filter(params: dict[str, str], default: str, allowed: tuple[str, ...]) -> str | None:
    status = params.get("status", default).lower()
    if status == "all":
        return None
    if status not in allowed:
        raise BadRequest(f"status must be one of {', '.join(allowed)} or all", field="status")
    return status


@counterparty.route("/assets/{asset}/orders", methods=["GET"])
def asset_orders(asset):
    params = query_params(counterparty.current_request)
    status = status_filter(params, "open", orders.STATUSES)
    name = assets.get_asset(asset).name
    limit, offset = paging(params)
    if params.get("sort"):
        rows = [order_row(o) for o in orders.orders_of_asset(name, status, MAX_SORTED_ROWS, 0)]
        return json_response(page(rows, params))
    return json_response([order_row(o) for o in orders.orders_of_asset(name, status, limit, offset)])


@counterparty.route("/orders/{tx_hash}", methods=["GET"])
def order_information(tx_hash):
    return json_response([order_row(orders.get_order(tx_hash))])


@counterparty.route("/orders/{tx_hash}/matches", methods=["GET"])
def order_matches(tx_hash):
    params = query_params(counterparty.current_request)
    status = status_filter(params, "pending", MATCH_STATUSES)
    orders.get_order(tx_hash)  # 404 for an unknown order, not an empty list
    rows = [match_row(m) for m in market_data.matches_of_order(tx_hash) if status is None or m.status == status]
    return json_response(page(rows, params))
