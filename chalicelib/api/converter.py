"""CryptoToken Converter REST API (`cryptotoken-converter.rst`).

`POST /api/convert` hands out a deposit address (or account + memo) for a coin pair and
destination; the scheduler converts what arrives there. The read routes list deposits,
conversions, pairs and coins. Every path is served with and without its trailing slash
(API Gateway and chalice's local server both strip it before routing). Amounts are
20-decimal-place strings; coins, deposits and conversions are referenced by absolute
URLs built from the request's Host header. Lists take `limit` (default 100, at most 1000)
and `offset`. Errors: `{"error": true, "message": ...}` with the spec's status codes.
"""

from __future__ import annotations

from fractions import Fraction

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict

from chalicelib.api.common import form_or_json_body, is_number, json_response, paging, parse, query_params
from chalicelib.errors import InternalError, LedgerError, NotFound
from chalicelib.ledger import addresses, assets, conversions, deposits, pairs
from chalicelib.ledger.amounts import fraction_to_decimal_string, to_decimal_string
from chalicelib.ledger.clock import current as clock
from chalicelib.ledger.clock import iso_utc

converter = Blueprint(__name__)

PLACES = 20
UNKNOWN_ERROR = "An unknown error has occurred... please contact support"


class ConverterError(LedgerError):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def render_error(error: LedgerError):
    message = UNKNOWN_ERROR if isinstance(error, InternalError) else error.message
    return json_response({"error": True, "message": message}, error.status)


# -- rendering --------------------------------------------------------------------

class Renderer:
    """Builds absolute URLs from the request and caches the assets it looks up."""

    def __init__(self, request):
        headers = request.headers or {}
        host = headers.get("host") or "localhost"
        scheme = (headers.get("x-forwarded-proto") or "http").split(",")[0].strip()
        self.base = f"{scheme}://{host}"
        self._assets: dict[str, object] = {}

    def asset(self, name: str):
        if name not in self._assets:
            self._assets[name] = assets.get_asset(name)
        return self._assets[name]

    def url(self, *parts: object) -> str:
        return self.base + "/api/" + "/".join(str(p) for p in parts) + "/"

    def coin_url(self, symbol: str | None) -> str | None:
        return self.url("coins", symbol) if symbol else None

    def amount(self, units: int, coin: str) -> str:
        return to_decimal_string(units, int(self.asset(coin).decimals), PLACES)

    def deposit(self, deposit) -> dict:
        return {
            "id": deposit.id,
            "txid": deposit.txid,
            "coin": self.coin_url(deposit.coin),
            "vout": deposit.vout,
            "status": deposit.status,
            "tx_timestamp": deposit.tx_timestamp,
            "address": deposit.address,
            "from_account": deposit.from_account,
            "to_account": deposit.to_account,
            "amount": self.amount(deposit.quantity, deposit.coin),
            "memo": deposit.memo,
            "processed_at": deposit.processed_at,
            "convert_to": self.coin_url(deposit.convert_to),
            "error": deposit.error,
        }

    def conversion(self, conversion) -> dict:
        return {
            "url": self.url("conversions", conversion.id),
            "from_address": conversion.from_address,
            "to_address": conversion.to_address,
            "to_memo": conversion.to_memo,
            "to_amount": self.amount(conversion.to_amount, conversion.to_coin),
            "to_txid": conversion.to_txid,
            "tx_fee": self.amount(conversion.tx_fee, conversion.to_coin),
            "ex_fee": self.amount(conversion.ex_fee, conversion.to_coin),
            "created_at": iso_utc(conversion.created_us),
            "updated_at": iso_utc(conversion.updated_us),
            "deposit": self.url("deposits", conversion.deposit_id),
            "from_coin": self.coin_url(conversion.from_coin),
            "to_coin": self.coin_url(conversion.to_coin),
        }

    def coin(self, asset) -> dict:
        return {
            "symbol": asset.name,
            "display_name": asset.description or asset.name,
            "our_account": addresses.deposit_account_of(asset) if asset.deposit == "memo" else None,
            "can_issue": False,
            "coin_type": asset.deposit,
            "decimals": asset.decimals,
            "network_fee": to_decimal_string(asset.network_fee, asset.decimals, PLACES),
            "url": self.coin_url(asset.name),
        }


def pair_row(pair) -> dict:
    return {
        "id": pair.id,
        "from_coin": pair.from_coin,
        "to_coin": pair.to_coin,
        "exchange_rate": fraction_to_decimal_string(Fraction(pair.exchange_rate), PLACES),
        "__str__": pair_text(pair),
    }


def pair_text(pair) -> str:
    rate = fraction_to_decimal_string(Fraction(pair.exchange_rate), 4)
    return f"{pair.from_coin} -> {pair.to_coin} ({rate} {pair.to_coin} per {pair.from_coin})"


def numeric_id(text: str) -> int:
    if not is_number(text):
        raise NotFound("Not found.")
    return int(text)


def request():
    return converter.current_request


# -- POST /api/convert ------------------------------------------------------------

class ConvertIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, defer_build=True)  # built on first use, not at cold start
    from_coin: str | None = None
    to_coin: str | None = None
    destination: str | None = None


@converter.route("/api/convert", methods=["POST"], content_types=[
    "application/json", "application/x-www-form-urlencoded"])
def convert():
    spec = parse(ConvertIn, form_or_json_body(request()))
    if not (spec.from_coin and spec.to_coin and spec.destination):
        raise ConverterError("You must specify 'from_coin', 'to_coin', and 'destination'", 400)
    from_coin, to_coin = spec.from_coin.upper(), spec.to_coin.upper()
    pair = pairs.get_pair(from_coin, to_coin)
    if pair is None:
        raise ConverterError(f"There is no such coin pair {from_coin} -> {to_coin}", 404)
    source, target = assets.get_asset(pair.from_coin), assets.get_asset(pair.to_coin)
    if not addresses.destination_ok(target, spec.destination):
        raise ConverterError(f"The destination {to_coin} address/account '{spec.destination}' is not valid", 400)
    record = addresses.converter_address(pair, source, spec.destination, clock())
    body = {"ex_rate": float(Fraction(pair.exchange_rate)), "destination": spec.destination,
            "pair": pair_text(pair)}
    if source.deposit == "memo":
        body.update(memo=record.memo, account=record.account)
    else:
        body["address"] = record.address
    return json_response(body)


# -- deposits ---------------------------------------------------------------------

@converter.route("/api/deposits", methods=["GET"])
def list_deposits():
    params = query_params(request())
    limit, offset = paging(params)
    filters = {k: params[k] for k in deposits.DEPOSIT_FILTERS if params.get(k)}
    render = Renderer(request())
    return json_response([render.deposit(d) for d in deposits.list_deposits(filters, limit, offset)])


@converter.route("/api/deposits/{deposit_id}", methods=["GET"])
def get_deposit(deposit_id):
    found = deposits.deposit_by_id(numeric_id(deposit_id))
    if not deposits.is_converter_deposit(found):  # a wallet's deposit is private
        raise NotFound("Not found.")
    return json_response(Renderer(request()).deposit(found))


# -- conversions ------------------------------------------------------------------

CONVERSION_FILTERS = ("to_address", "to_txid", "to_coin", "from_coin", "from_address")


@converter.route("/api/conversions", methods=["GET"])
def list_conversions():
    params = query_params(request())
    limit, offset = paging(params)
    filters = {k: params[k] for k in CONVERSION_FILTERS if params.get(k)}
    render = Renderer(request())
    return json_response([render.conversion(c) for c in conversions.list_conversions(filters, limit, offset)])


@converter.route("/api/conversions/{conversion_id}", methods=["GET"])
def get_conversion(conversion_id):
    found = conversions.conversion_by_id(numeric_id(conversion_id))
    return json_response(Renderer(request()).conversion(found))


# -- pairs and coins --------------------------------------------------------------

@converter.route("/api/pairs", methods=["GET"])
def list_pairs():
    params = query_params(request())
    limit, offset = paging(params)
    rows = pairs.list_pairs(params.get("from_coin") or None, params.get("to_coin") or None)
    return json_response([pair_row(p) for p in rows[offset:offset + limit]])


@converter.route("/api/pairs/{pair_id}", methods=["GET"])
def get_pair(pair_id):
    return json_response(pair_row(pairs.pair_by_id(numeric_id(pair_id))))


@converter.route("/api/coins", methods=["GET"])
def list_coins():
    limit, offset = paging(query_params(request()))
    render = Renderer(request())
    return json_response([render.coin(a) for a in assets.list_assets()[offset:offset + limit]])


@converter.route("/api/coins/{symbol}", methods=["GET"])
def get_coin(symbol):
    asset = assets.find_asset(symbol)
    if asset is None:
        raise NotFound("Not found.")
    return json_response(Renderer(request()).coin(asset))

