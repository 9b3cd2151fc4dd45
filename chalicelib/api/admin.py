"""Operator routes: assets, markets, converter pairs, API keys, observed deposits, and
the lifecycle changes (docs/admin.md): each of those names its operator
(`X-Lambdex-Operator`) and a `reason`, journaled with the change.

Every route needs `Authorization: Bearer <LAMBDEX_ADMIN_TOKEN>`. Errors are
`{"error": {"code", "message", "field"?}}` with a 4xx status.
"""

from __future__ import annotations

import hmac
import re
from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib import settings
from chalicelib.api.common import int_param, is_number, json_body, json_response, parse, query_params
from chalicelib.api.render import (
    action_row,
    api_key_row,
    asset_row,
    balance_row,
    conversion_row,
    deposit_row,
    market_row,
    order_row,
    pair_row,
    transfer_row,
    withdrawal_row,
)
from chalicelib.auth import apikeys
from chalicelib.errors import InvalidInput, LedgerError, NotFound, Unauthorized
from chalicelib.ledger import (
    actions,
    amounts,
    assets,
    balances,
    chain,
    conversions,
    deposits,
    markets,
    orders,
    paging,
    pairs,
    withdrawals,
)
from chalicelib.ledger.clock import current as clock

admin = Blueprint(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._]{0,31}$")  # assets.NAME_ALPHABET, any case


def render_error(error: LedgerError):
    body = {"code": type(error).__name__, "message": error.message}
    if error.field:
        body["field"] = error.field
    return json_response({"error": body}, error.status)




def require_admin() -> None:
    header = admin.current_request.headers.get("authorization") or ""
    token = header[7:] if header[:7].lower() == "bearer " else ""
    # Every accepted token is compared (no early exit): rotation keeps the old one for a while.
    if not token or not any([hmac.compare_digest(token.encode(), t.encode()) for t in settings.admin_tokens()]):
        raise Unauthorized("admin routes need Authorization: Bearer <admin token>")


def body() -> object:
    require_admin()
    return json_body(admin.current_request)


class Strict(BaseModel):
    # strict: a JSON true is not the number 1, a number is not a string
    # defer_build: each model's validator is built on its first use, not at every cold start
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True, defer_build=True)


Quantity = int | str


class AssetIn(Strict):
    name: str
    asset_id: int | None = Field(default=None, ge=0, lt=2**63)
    token_address: str | None = None
    decimals: int = Field(default=0, ge=0, le=19)
    issuer: str | None = None
    owner: str | None = None
    description: str = Field(default="", max_length=4000)
    supply: Quantity = 0
    locked: bool = False
    url: str | None = None
    unit_name: str | None = None
    default_frozen: bool = False
    manager: str | None = None
    reserve: str | None = None
    freeze: str | None = None
    clawback: str | None = None
    metadata_hash: str | None = None
    asset_longname: str | None = None
    settlement: Literal["ledger", "external"] = "ledger"
    deposit: Literal["address", "memo"] = "address"
    confirmations_required: int = Field(default=1, ge=0, le=10_000)
    network_fee: Quantity = 0
    address_pattern: str | None = None
    deposit_account: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("1-32 letters, digits, '.' or '_' (no '-': it separates market ids)")
        return value.upper()

    @field_validator("token_address")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
            raise ValueError("must be a 0x-prefixed 20-byte hex address")
        return value.lower() if value else value

    @field_validator("address_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a regular expression: {error}") from error
        return value


class MarketIn(Strict):
    id: str
    base: str
    quote: str
    fee: str | float = "0"
    min_amount: Quantity = 0
    name: str | None = None
    url: str | None = None


class PairIn(Strict):
    from_coin: str
    to_coin: str
    exchange_rate: str | float
    ex_fee: str | float = "0"


class ApiKeyIn(Strict):
    account: str = Field(min_length=1, max_length=128)
    scopes: list[Literal["read", "trade", "withdraw"]] = Field(min_length=1)
    label: str | None = None
    public: bool = False  # opt in: the public Counterparty/algod routes serve this account's balances


class DepositIn(Strict):
    coin: str
    txid: str = Field(min_length=1, max_length=200)
    vout: int = Field(default=0, ge=0, lt=2**32)
    address: str | None = Field(default=None, min_length=1, max_length=200)
    to_account: str | None = Field(default=None, min_length=1, max_length=200)
    memo: str | None = Field(default=None, max_length=500)
    from_account: str | None = None
    quantity: Quantity | None = None
    amount: str | float | None = None
    confirmations: int = Field(default=1, ge=0)
    tx_timestamp: str | None = None
    match_id: str | None = None

    @model_validator(mode="after")
    def _one_amount(self) -> DepositIn:
        if (self.quantity is None) == (self.amount is None):
            raise ValueError("give exactly one of quantity (base units) or amount (decimal string)")
        if not self.address and not self.to_account:
            raise ValueError("give address, or to_account (and memo)")
        return self


# -- assets -------------------------------------------------------------------

@admin.route("/admin/assets", methods=["POST"])
def create_asset():
    spec = parse(AssetIn, body())
    data = spec.model_dump()
    data["supply"] = amounts.parse_integer(spec.supply, "supply", allow_zero=True)
    data["network_fee"] = amounts.parse_integer(spec.network_fee, "network_fee", allow_zero=True)
    asset = assets.create_asset(assets.Asset(**data), clock())
    return json_response(asset_row(asset), 201)


@admin.route("/admin/assets", methods=["GET"])
def list_assets():
    require_admin()
    return json_response([asset_row(a) for a in assets.list_assets()])


@admin.route("/admin/assets/{name}", methods=["GET"])
def get_asset(name):
    require_admin()
    return json_response(asset_row(assets.get_asset(name)))


# -- markets ------------------------------------------------------------------

@admin.route("/admin/markets", methods=["POST"])
def create_market():
    spec = parse(MarketIn, body())
    base = assets.get_asset(spec.base)
    market = markets.create_market(
        spec.id, spec.base, spec.quote, amounts.parse_rate(spec.fee, "fee"), clock(),
        min_amount=amounts.to_base_units(spec.min_amount, base.decimals, "min_amount", allow_zero=True),
        name=spec.name, url=spec.url,
    )
    return json_response(market_row(market), 201)


@admin.route("/admin/markets", methods=["GET"])
def list_markets():
    require_admin()
    return json_response([market_row(m) for m in markets.list_markets()])


@admin.route("/admin/markets/{market_id}", methods=["GET"])
def get_market(market_id):
    require_admin()
    return json_response(market_row(markets.get_market(market_id)))


# -- converter pairs ----------------------------------------------------------

@admin.route("/admin/pairs", methods=["POST"])
def create_pair():
    spec = parse(PairIn, body())
    pair = pairs.create_pair(
        spec.from_coin, spec.to_coin, amounts.parse_rate(spec.exchange_rate, "exchange_rate", allow_zero=False),
        amounts.parse_rate(spec.ex_fee, "ex_fee"),
    )
    return json_response(pair_row(pair), 201)


@admin.route("/admin/pairs", methods=["GET"])
def list_pairs():
    require_admin()
    return json_response([pair_row(p) for p in pairs.list_pairs()])


# -- API keys -----------------------------------------------------------------

@admin.route("/admin/apikeys", methods=["POST"])
def create_api_key():
    spec = parse(ApiKeyIn, body())
    key, record = apikeys.create_key(spec.account, list(spec.scopes), clock().now_us(), spec.label,
                                     public=spec.public)
    return json_response({"key": key, "id": record.key_hash, "account": record.account, "scopes": record.scopes,
                          "label": record.label, "public": record.public}, 201)


@admin.route("/admin/apikeys", methods=["GET"])
def list_api_keys():
    require_admin()
    account = query_params(admin.current_request).get("account")
    if not account:
        raise InvalidInput("give ?account=", field="account")
    return json_response([api_key_row(k) for k in apikeys.keys_of(account)])


# -- observed deposits --------------------------------------------------------

@admin.route("/admin/deposits", methods=["POST"])
def post_deposit():
    spec = parse(DepositIn, body())
    asset = assets.get_asset(spec.coin)
    if spec.quantity is not None:
        quantity = amounts.parse_integer(spec.quantity, "quantity")
    else:
        quantity = amounts.to_base_units(spec.amount, asset.decimals, "amount")
    observed = deposits.ObservedTransfer(
        coin=asset.name, txid=spec.txid, quantity=quantity, vout=spec.vout, address=spec.address,
        to_account=spec.to_account, memo=spec.memo, from_account=spec.from_account,
        confirmations=spec.confirmations, tx_timestamp=spec.tx_timestamp, match_id=spec.match_id,
    )
    deposit, created = deposits.record_deposit(observed, clock())
    return json_response(deposit_row(deposit, asset), 201 if created else 200)


@admin.route("/admin/deposits", methods=["GET"])
def list_pending_deposits():
    require_admin()
    status = query_params(admin.current_request).get("status", "new")
    if status not in ("new", "mapped"):
        raise InvalidInput("status lists pending deposits: new or mapped", field="status")
    rows = []
    for deposit in deposits.pending_deposits(status, limit=1000):
        rows.append(deposit_row(deposit, assets.get_asset(deposit.coin)))
    return json_response(rows)


@admin.route("/admin/deposits/{coin}/{txid}/{vout}", methods=["GET"])
def get_deposit(coin, txid, vout):
    require_admin()
    if not is_number(vout, 10) or int(vout) >= 2**32:
        raise InvalidInput("vout must be an integer from 0 to 2^32-1", field="vout")
    asset = assets.get_asset(coin)
    deposit = deposits.get_deposit(deposits.deposit_key(asset.name, txid, int(vout)))
    if deposit is None:
        raise NotFound("no such deposit")
    return json_response(deposit_row(deposit, asset))


# -- lifecycle: who and why ---------------------------------------------------------

OPERATOR_HEADER = "x-lambdex-operator"


class ReasonIn(Strict):
    reason: str = Field(min_length=1, max_length=actions.MAX_REASON)


class MarketChangeIn(ReasonIn):
    fee: str | float | None = None
    min_amount: Quantity | None = None
    name: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=2000)


class CancelPageIn(ReasonIn):
    limit: int = Field(default=50, ge=1, le=paging.MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=paging.MAX_CURSOR_CHARS)


class RefundIn(ReasonIn):
    address: str = Field(min_length=1, max_length=200)
    memo: str | None = Field(default=None, max_length=500)


def change(model: type[ReasonIn]) -> tuple[ReasonIn, actions.Action]:
    """The parsed body and the operator's action (token, then operator header, then body)."""
    data = body()
    operator = admin.current_request.headers.get(OPERATOR_HEADER)
    if not operator:
        raise InvalidInput("name the operator in the X-Lambdex-Operator header", field="operator")
    spec = parse(model, data)
    return spec, actions.Action(operator.strip(), spec.reason)


def listing(params: dict[str, str], allowed: tuple[str, ...]) -> tuple[int, str | None]:
    unknown = sorted(set(params) - {"limit", "cursor", *allowed})
    if unknown:
        raise InvalidInput(f"unknown parameter {unknown[0]!r}; filters are {list(allowed)}", field=unknown[0])
    return int_param(params, "limit", 50, 1, paging.MAX_LIMIT), params.get("cursor") or None


def page_response(found: paging.Page, render) -> object:
    return json_response({"items": [render(r) for r in found.rows], "cursor": found.cursor})


def cursor_listing(filters: tuple[str, ...], fetch, render) -> object:
    """An admin list: `?limit&cursor` and the named `filters` (others refused), answered
    with one page of `fetch(limit, cursor, given_filters)` as `{"items", "cursor"}`."""
    require_admin()
    params = query_params(admin.current_request)
    limit, cursor = listing(params, filters)
    return page_response(fetch(limit, cursor, {k: params[k] for k in filters if params.get(k)}), render)


def deposit_key_of(coin: str, txid: str, vout: str) -> str:
    if not is_number(vout, 10) or int(vout) >= 2**32:
        raise InvalidInput("vout must be an integer from 0 to 2^32-1", field="vout")
    return deposits.deposit_key(assets.get_asset(coin).name, txid, int(vout))


@admin.route("/admin/markets/{market_id}", methods=["PATCH"])
def update_market(market_id):
    """Change a market's fee, minimum amount, name or url."""
    spec, action = change(MarketChangeIn)
    market = markets.get_market(market_id, consistent=True)
    values: dict = {}
    if spec.fee is not None:
        values["fee"] = amounts.parse_rate(spec.fee, "fee")
    if spec.min_amount is not None:
        base = assets.get_asset(market.base)
        values["min_amount"] = amounts.to_base_units(spec.min_amount, base.decimals, "min_amount", allow_zero=True)
    values.update({k: getattr(spec, k) for k in ("name", "url") if k in spec.model_fields_set})
    return json_response(market_row(markets.change_market(market.id, values, action, clock())))


@admin.route("/admin/markets/{market_id}/disable", methods=["POST"])
def disable_market(market_id):
    """Refuse new orders on a market (every dialect); open orders stay."""
    _, action = change(ReasonIn)
    return json_response(market_row(markets.set_enabled(market_id, False, action, clock())))


@admin.route("/admin/markets/{market_id}/enable", methods=["POST"])
def enable_market(market_id):
    """Take orders on a market again."""
    _, action = change(ReasonIn)
    return json_response(market_row(markets.set_enabled(market_id, True, action, clock())))


@admin.route("/admin/apikeys/{key_id}/revoke", methods=["POST"])
def revoke_api_key(key_id):
    """Revoke an API key: it stops authenticating."""
    _, action = change(ReasonIn)
    return json_response(api_key_row(apikeys.operator_revoke(key_id, action, clock())))


@admin.route("/admin/apikeys/{key_id}/rotate", methods=["POST"])
def rotate_api_key(key_id):
    """Replace an API key by a new one (same account, scopes, label); the old one is revoked."""
    _, action = change(ReasonIn)
    key, record = apikeys.rotate_key(key_id, action, clock())
    return json_response({"key": key, **api_key_row(record)}, 201)


@admin.route("/admin/balances/{address}/{asset}/freeze", methods=["POST"])
def freeze_balance(address, asset):
    """Freeze a balance: nothing can be taken from its available amount."""
    _, action = change(ReasonIn)
    return json_response(balance_row(balances.set_frozen(address, asset, True, action, clock())))


@admin.route("/admin/balances/{address}/{asset}/unfreeze", methods=["POST"])
def unfreeze_balance(address, asset):
    """Unfreeze a balance."""
    _, action = change(ReasonIn)
    return json_response(balance_row(balances.set_frozen(address, asset, False, action, clock())))


@admin.route("/admin/orders", methods=["GET"])
def list_orders():
    """An account's orders (newest first, any status) or a market's open orders."""
    require_admin()
    params = query_params(admin.current_request)
    limit, cursor = listing(params, ("account", "market", "status"))
    status = params.get("status")
    if status is not None and status not in orders.STATUSES:
        raise InvalidInput(f"status is one of {list(orders.STATUSES)}", field="status")
    if bool(params.get("account")) == bool(params.get("market")):
        raise InvalidInput("give account or market", field="account")
    return page_response(orders.admin_orders(limit, cursor, params.get("account"), params.get("market"), status),
                         order_row)


@admin.route("/admin/orders/{tx_hash}/cancel", methods=["POST"])
def cancel_one_order(tx_hash):
    """Cancel one open order (its locked remainder returns to its owner)."""
    _, action = change(ReasonIn)
    return json_response(order_row(orders.admin_cancel(tx_hash, action, clock())))


@admin.route("/admin/accounts/{account}/orders/cancel", methods=["POST"])
def cancel_account_orders(account):
    """Cancel a page of an account's open orders; repeat with the cursor until it is null."""
    spec, action = change(CancelPageIn)
    done, cursor = orders.cancel_open_orders(action, clock(), source=account, limit=spec.limit, cursor=spec.cursor)
    return json_response({"cancelled": [o.tx_hash for o in done], "cursor": cursor})


@admin.route("/admin/markets/{market_id}/orders/cancel", methods=["POST"])
def cancel_market_orders(market_id):
    """Cancel a page of a market's open orders; repeat with the cursor until it is null."""
    spec, action = change(CancelPageIn)
    done, cursor = orders.cancel_open_orders(action, clock(), market=market_id, limit=spec.limit,
                                             cursor=spec.cursor)
    return json_response({"cancelled": [o.tx_hash for o in done], "cursor": cursor})


@admin.route("/admin/deposits/{coin}/{txid}/{vout}/reject", methods=["POST"])
def reject_deposit(coin, txid, vout):
    """Never credit a new deposit: it ends inv with the reason."""
    _, action = change(ReasonIn)
    key = deposit_key_of(coin, txid, vout)
    deposit = deposits.reject_deposit(key, action, clock())
    return json_response(deposit_row(deposit, assets.get_asset(deposit.coin)))


@admin.route("/admin/deposits/{coin}/{txid}/{vout}/refund", methods=["POST"])
def refund_deposit(coin, txid, vout):
    """Send a deposit back (new, inv or credited; a credited one is taken back from the owner)."""
    spec, action = change(RefundIn)
    key = deposit_key_of(coin, txid, vout)
    deposit = deposits.refund_deposit(key, spec.address, spec.memo, action, clock())
    return json_response(deposit_row(deposit, assets.get_asset(deposit.coin)))


@admin.route("/admin/withdrawals", methods=["GET"])
def list_withdrawals():
    """Withdrawals, newest first: filter by account, status, coin."""
    return cursor_listing(("account", "status", "coin"), lambda limit, cursor, given: withdrawals.list_withdrawals(
        limit, cursor, **given), withdrawal_row)


@admin.route("/admin/conversions", methods=["GET"])
def list_conversions():
    """Conversions, newest first: filter by status, coins, addresses."""

    def fetch(limit, cursor, given):
        status = given.pop("status", None)
        return conversions.admin_conversions(limit, cursor, given, status)

    return cursor_listing(("status", *conversions.ADMIN_CONVERSION_FILTERS), fetch, conversion_row)


@admin.route("/admin/transfers", methods=["GET"])
def list_transfers():
    """Outgoing transfers the chain adapter sent (the local outbox), newest first."""
    return cursor_listing(("coin", "to_address"), lambda limit, cursor, given: chain.list_transfers(
        limit, cursor, **given), transfer_row)


@admin.route("/admin/actions", methods=["GET"])
def list_actions():
    """One operator's journaled changes, newest first."""

    def fetch(limit, cursor, given):
        if "operator" not in given:
            raise InvalidInput("give ?operator=", field="operator")
        return actions.list_actions(given["operator"], limit, cursor)

    return cursor_listing(("operator",), fetch, action_row)
