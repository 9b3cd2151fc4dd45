"""Operator routes: assets, markets, converter pairs, API keys, observed deposits.

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
from chalicelib.api.common import is_number, json_body, json_response, parse, query_params
from chalicelib.api.render import asset_row, deposit_row, market_row, pair_row
from chalicelib.auth import apikeys
from chalicelib.errors import InvalidInput, LedgerError, NotFound, Unauthorized
from chalicelib.ledger import amounts, assets, deposits, markets, pairs
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
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
    asset = assets.create_asset(assets.AssetSpec(**data), clock())
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
    key, record = apikeys.create_key(spec.account, list(spec.scopes), clock().now_us(), spec.label)
    return json_response({"key": key, "account": record.account, "scopes": record.scopes, "label": record.label}, 201)


@admin.route("/admin/apikeys", methods=["GET"])
def list_api_keys():
    require_admin()
    account = query_params(admin.current_request).get("account")
    if not account:
        raise InvalidInput("give ?account=", field="account")
    return json_response([
        {"key_hash": k.key_hash[:12], "account": k.account, "scopes": k.scopes, "label": k.label}
        for k in apikeys.keys_of(account)
    ])


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
