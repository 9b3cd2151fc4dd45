"""0x relayer v0 (UDEX dialect, 0x v1 orders) and the Standard Relayer API v0 routes.

Public: `/v0/markets`, `/v0/orderbook`, `/v0/token_pairs`, `/v0/orders`, `/v0/order/{hash}`,
`/v0/fees`, `POST /v0/order`, `/v0/auth/nonce`, `POST /v0/auth`. Private (session JWT in
`Authorization`, with or without `Bearer`): `/v0/openOrders`, `/v0/orderHistory`,
`DELETE /v0/orders/{hash}`.

Errors: `{"error": {"code", "reason", "validationErrors"?: [{"field", "code", "reason"}]}}`
with 400 and code 100 (validation, codes 1000-1006 per field), 101 (malformed JSON) or 106
(signature); 401/403/404 carry their HTTP status as the code. See docs/relayer.md.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from fractions import Fraction
from typing import Annotated, Any

from chalice import Blueprint
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, WithJsonSchema

from chalicelib import settings
from chalicelib.api.common import BadRequest, json_body, json_response, query_params
from chalicelib.auth import ethereum, nonces, sessions
from chalicelib.errors import (
    Conflict,
    InsufficientFunds,
    InvalidInput,
    LedgerError,
    NotFound,
    OutOfRange,
    Unauthorized,
)
from chalicelib.ledger import orders, tokens
from chalicelib.ledger.amounts import MAX_QUANTITY, to_decimal_string
from chalicelib.ledger.clock import current as clock
from chalicelib.ledger.stores.orders import Order

relayer = Blueprint(__name__)

NULL_ADDRESS = "0x" + "00" * 20
FIXED_MESSAGE = "Sign this message to verify your authority of current address !"
MAX_PER_PAGE = 100
MAX_PAGE = 10_000  # page * perPage orders are read: keep it a bounded read
MAX_LEDGER_EXPIRY = 253_402_300_799  # 9999-12-31T23:59:59Z
MAX_SRA_READ = 2000  # open orders GET /v0/orders reads at most, whatever its filters

VALIDATION_FAILED, MALFORMED_JSON, SIGNATURE_FAILED = 100, 101, 106
REQUIRED, BAD_FORMAT, BAD_ADDRESS, UNSUPPORTED_ADDRESS, OUT_OF_RANGE, BAD_ECDSA = 1000, 1001, 1002, 1003, 1004, 1005

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HASH = re.compile(r"(?:0x)?([0-9a-fA-F]{64})")
_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_UINT = re.compile(r"[0-9]{1,100}")
STATUS = {"open": "activity", "filled": "filled", "cancelled": "cancelled", "expired": "expired"}


# -- errors -------------------------------------------------------------------------------------

class RelayerError(LedgerError):
    """An error already in the relayer's terms (code, reason, per-field validation errors)."""

    def __init__(self, status: int, code: int, reason: str, validation: list[dict] | None = None):
        super().__init__(reason)
        self.status, self.code, self.validation = status, code, validation


def invalid(field: str, code: int, reason: str) -> RelayerError:
    return RelayerError(400, VALIDATION_FAILED, "Validation Failed",
                        [{"field": field, "code": code, "reason": reason}])


# Ledger field names -> the 0x names a client sent.
_FIELDS = {"give_quantity": "makerTokenAmount", "get_quantity": "takerTokenAmount", "amount": "makerTokenAmount",
           "give_asset": "makerTokenAddress", "get_asset": "takerTokenAddress", "market": "takerTokenAddress",
           "expiration": "expirationUnixTimestampSec", "tx_hash": "orderHash", "id": "orderHash"}
_AMOUNT_FIELDS = {"makerTokenAmount", "takerTokenAmount", "expirationUnixTimestampSec", "page", "perPage"}


def render_error(error: LedgerError):
    if isinstance(error, RelayerError):
        body: dict[str, Any] = {"code": error.code, "reason": error.message}
        if error.validation:
            body["validationErrors"] = error.validation
        return json_response({"error": body}, error.status)
    if isinstance(error, (InvalidInput, Conflict, InsufficientFunds)):
        field = _FIELDS.get(error.field or "", error.field)
        if isinstance(error, InsufficientFunds):
            field, code = "makerTokenAmount", OUT_OF_RANGE
        elif isinstance(error, tokens.UnknownToken | tokens.UnknownPair):
            code = UNSUPPORTED_ADDRESS
        elif isinstance(error, OutOfRange) or field in _AMOUNT_FIELDS:
            code = OUT_OF_RANGE
        else:
            code = BAD_FORMAT
        body = {"code": VALIDATION_FAILED, "reason": error.message}
        if field:
            body["validationErrors"] = [{"field": field, "code": code, "reason": error.message}]
        return json_response({"error": body}, 400)
    return json_response({"error": {"code": error.status, "reason": error.message}}, error.status)




# -- input --------------------------------------------------------------------------------------

def body() -> Any:
    try:
        return json_body(relayer.current_request)
    except BadRequest as error:
        raise RelayerError(400, MALFORMED_JSON, "Malformed JSON") from error


def _address(value: Any) -> str:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise ValueError("Invalid address")
    return value.lower()


def _optional_address(value: Any) -> str | None:
    return None if value is None else _address(value)


def _uint(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and _UINT.fullmatch(value):
        return str(int(value))
    raise ValueError("Incorrect format: expected a non-negative integer as a decimal string")


def _hex32(value: Any) -> str:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise ValueError("Invalid ECDSA: expected 0x and 64 hex digits")
    return value.lower()


def _v(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in (27, 28):
        raise ValueError("Invalid ECDSA: v must be 27 or 28")
    return value


# The JSON schemas (in /openapi.json) say what the validators accept.
_ADDRESS_SCHEMA = {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}
_HEX32_SCHEMA = {"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"}
Address = Annotated[str, BeforeValidator(_address), WithJsonSchema(_ADDRESS_SCHEMA)]
OptionalAddress = Annotated[str | None, BeforeValidator(_optional_address),
                            WithJsonSchema({"anyOf": [_ADDRESS_SCHEMA, {"type": "null"}]})]
Uint = Annotated[str, BeforeValidator(_uint), WithJsonSchema({"anyOf": [
    {"type": "string", "pattern": "^[0-9]{1,100}$"}, {"type": "integer", "minimum": 0}]})]
Hex32 = Annotated[str, BeforeValidator(_hex32), WithJsonSchema(_HEX32_SCHEMA)]


class Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)  # validators built on first use, not at cold start


class ECSignatureIn(Loose):
    v: Annotated[int, BeforeValidator(_v), WithJsonSchema({"type": "integer", "enum": [27, 28]})]
    r: Hex32
    s: Hex32


class OrderIn(Loose):
    exchangeContractAddress: Address
    maker: Address
    taker: OptionalAddress
    makerTokenAddress: Address
    takerTokenAddress: Address
    feeRecipient: Address
    makerTokenAmount: Uint
    takerTokenAmount: Uint
    makerFee: Uint
    takerFee: Uint
    expirationUnixTimestampSec: Uint
    salt: Uint
    ecSignature: ECSignatureIn


class FeesIn(Loose):
    exchangeContractAddress: Address
    maker: Address
    taker: OptionalAddress
    makerTokenAddress: Address
    takerTokenAddress: Address
    makerTokenAmount: Uint | None = None
    takerTokenAmount: Uint | None = None
    expirationUnixTimestampSec: Uint
    salt: Uint


class AuthIn(Loose):
    address: Address
    data: Hex32
    signature: str


_ADDRESS_FIELDS = {"exchangeContractAddress", "maker", "taker", "makerTokenAddress", "takerTokenAddress",
                   "feeRecipient", "address"}


def parse(model: type[BaseModel], data: Any) -> Any:
    """Validate into `model`; every problem becomes a validation error with its 0x code."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = ".".join(str(p) for p in item["loc"]) or "body"
            reason = item["msg"].removeprefix("Value error, ")
            if item["type"] == "missing":
                code, reason = REQUIRED, "Required field"
            elif field.startswith("ecSignature") or field == "data":
                code = BAD_ECDSA
            elif field in _ADDRESS_FIELDS:
                code = BAD_ADDRESS
            else:
                code = BAD_FORMAT
            problems.append({"field": field, "code": code, "reason": reason})
        raise RelayerError(400, VALIDATION_FAILED, "Validation Failed", problems) from error


def page_params(params: dict[str, str]) -> tuple[int, int]:
    """`page` from 1, `perPage` (SRA v0 clients send `per_page`) from 1 to 100."""
    def number(name: str, raw: str | None, default: int, maximum: int | None) -> int:
        if raw is None or raw == "":
            return default
        if not (raw.isascii() and raw.isdigit()):
            raise invalid(name, BAD_FORMAT, f"{name} must be a positive integer")
        if len(raw) > 6:
            raise invalid(name, OUT_OF_RANGE, f"{name} must be from 1 to {maximum or MAX_PAGE}")
        value = int(raw)
        if value < 1 or value > (maximum or MAX_PAGE):
            raise invalid(name, OUT_OF_RANGE, f"{name} must be from 1 to {maximum or MAX_PAGE}")
        return value

    per_page_raw = params.get("perPage", params.get("per_page"))
    return number("page", params.get("page"), 1, None), number("perPage", per_page_raw, MAX_PER_PAGE, MAX_PER_PAGE)


def address_param(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not _ADDRESS.fullmatch(value):
        raise invalid(name, BAD_ADDRESS, "Invalid address")
    return value.lower()


def order_hash_param(value: str) -> str:
    match = _HASH.fullmatch(value or "")
    if match is None:
        raise invalid("orderHash", BAD_FORMAT, "orderHash must be 64 hex digits (0x optional)")
    return match.group(1).lower()


def authenticated() -> str:
    """The address of the request's session token; 401 otherwise."""
    token = sessions.token_from_header(relayer.current_request.headers.get("authorization"))
    if not token:
        raise Unauthorized("this route needs the token of POST /v0/auth in Authorization")
    try:
        return sessions.verify_token_any(token, settings.jwt_secrets(), int(clock().now()))
    except sessions.SessionError as error:
        raise Unauthorized(str(error)) from error


# -- rendering ----------------------------------------------------------------------------------

def iso(us: int) -> str:
    return datetime.fromtimestamp(int(us) / 1_000_000, tz=UTC).isoformat(timespec="microseconds")


def signed_fields(order: Order) -> dict[str, str]:
    return dict(order.signed_order or {})


def base_quote(order: Order) -> tuple[int, int]:
    """(base units, quote units) of the order's whole size."""
    if order.side == "sell":
        return int(order.give_quantity), int(order.get_quantity)
    return int(order.get_quantity), int(order.give_quantity)


def display_price(units_price: Fraction, tm: tokens.TokenMarket) -> float:
    return float(units_price * Fraction(10) ** (int(tm.base.decimals) - int(tm.quote.decimals)))


def order_price(order: Order, tm: tokens.TokenMarket) -> float:
    base, quote = base_quote(order)
    return display_price(Fraction(quote, base), tm)


def udex_order(order: Order, tm: tokens.TokenMarket) -> dict[str, Any]:
    """An order in the relayer spec's shape (orderbook, openOrders, orderHistory)."""
    signed = signed_fields(order)
    is_open = order.status == "open"
    get_quantity, get_remaining = int(order.get_quantity), int(order.get_remaining)
    filled = max(0, min(get_quantity, get_quantity - get_remaining))
    give_remaining = int(order.give_remaining) if is_open else 0
    expiration = signed.get("expirationUnixTimestampSec")
    give_asset = tm.base if order.give_asset == tm.base.name else tm.quote
    return {
        "id": int(order.tx_index),
        "maker": order.source,
        "taker": signed.get("taker") or order.taker or NULL_ADDRESS,
        "makerTokenAddress": tm.token_of(order.give_asset) or NULL_ADDRESS,
        "takerTokenAddress": tm.token_of(order.get_asset) or NULL_ADDRESS,
        "feeRecipient": signed.get("feeRecipient", NULL_ADDRESS),
        "exchangeContractAddress": signed.get("exchangeContractAddress", NULL_ADDRESS),
        "salt": signed.get("salt", "0"),
        "makerTokenAmount": str(order.give_quantity),
        "takerTokenAmount": str(get_quantity),
        "makerFee": signed.get("makerFee", "0"),
        "takerFee": signed.get("takerFee", "0"),
        "expirationUnixTimestampSec": int(expiration) if expiration is not None else int(order.expires_at),
        "takerTokenAmountFilled": str(filled),
        "takerTokenAmountCancelled": str(max(0, get_remaining) if order.status in ("cancelled", "expired") else 0),
        "status": STATUS.get(order.status, order.status),
        "makerTokenRemaining": str(give_remaining),
        "takerTokenRemaining": str(max(0, get_remaining) if is_open else 0),
        "makerLockedAmount": str(give_remaining if give_asset.settlement == "ledger" else 0),
        "takerLockedAmount": "0",
        "price": order_price(order, tm),
        "pair": order.market,
        "side": order.side,
        "orderHash": order.tx_hash,
        "createdTime": iso(order.created_us),
        "updatedTime": iso(order.updated_us or order.created_us),
    }


_SRA_FIELDS = ("exchangeContractAddress", "maker", "taker", "makerTokenAddress", "takerTokenAddress",
               "feeRecipient", "makerTokenAmount", "takerTokenAmount", "makerFee", "takerFee",
               "expirationUnixTimestampSec", "salt")


def sra_order(order: Order) -> dict[str, Any]:
    """An order as SRA v0's signed order (0x v1 schema): exactly what its maker signed."""
    signed = signed_fields(order)
    row: dict[str, Any] = {name: signed[name] for name in _SRA_FIELDS}
    row["ecSignature"] = {"v": int(signed["v"]), "r": signed["r"], "s": signed["s"]}
    return row


class MarketCache:
    """TokenMarket per market id for one request (orders of a list share few markets)."""

    def __init__(self, known: list[tokens.TokenMarket] | None = None):
        self.by_id = {tm.market.id: tm for tm in known or []}

    def __call__(self, market_id: str) -> tokens.TokenMarket:
        if market_id not in self.by_id:
            from chalicelib.ledger.markets import get_market

            self.by_id[market_id] = tokens.token_market(get_market(market_id))
        return self.by_id[market_id]


def fees_of(order: Order) -> int:
    signed = signed_fields(order)
    return int(signed.get("makerFee", 0)) + int(signed.get("takerFee", 0))


def expiry_of(order: Order) -> int:
    return int(signed_fields(order).get("expirationUnixTimestampSec", order.expires_at))


def book_sorted(found: list[Order], descending: bool) -> list[Order]:
    """By price (quote per base: bids high first, asks low first), then total fees, then expiration."""
    def key(order: Order):
        base, quote = base_quote(order)
        price = Fraction(quote, base)
        return (-price if descending else price, fees_of(order), expiry_of(order), int(order.tx_index))

    return sorted(found, key=key)


def paged(rows: list, page: int, per_page: int) -> list:
    return rows[(page - 1) * per_page: page * per_page]


# -- sessions -----------------------------------------------------------------------------------

@relayer.route("/v0/auth/nonce", methods=["GET"])
def auth_nonce():
    address = address_param(query_params(relayer.current_request), "address")
    if address is None:
        raise invalid("address", REQUIRED, "Required field")
    issued = nonces.issue(address, int(clock().now()))
    return json_response({"address": address, "nonce": issued.nonce, "message": issued.message,
                          "data": issued.data, "expiresAt": issued.expires_at})


@relayer.route("/v0/auth", methods=["POST"])
def auth():
    request = parse(AuthIn, body())
    try:
        v, r, s = ethereum.parse_rsv_signature(request.signature)
    except ethereum.SignatureError as error:
        raise invalid("signature", BAD_ECDSA, str(error)) from error
    data = bytes.fromhex(request.data[2:])
    if not ethereum.signer_matches(request.address, data, v, r, s, allow_unprefixed=True):
        raise RelayerError(401, SIGNATURE_FAILED, "Signature Verify Failed.")
    now = int(clock().now())
    if data == ethereum.keccak(FIXED_MESSAGE.encode()):
        if not settings.allow_fixed_message():
            raise Unauthorized("the fixed sign-in message is disabled here: sign a nonce from GET /v0/auth/nonce")
    elif not nonces.consume(request.data, request.address, now):
        raise Unauthorized("data is neither the sign-in message nor an unused, unexpired nonce of this address")
    return json_response({"token": sessions.issue_token(request.address, settings.jwt_secret(), now)})


# -- orders -------------------------------------------------------------------------------------

def token_order(order: OrderIn, now: int) -> tokens.TokenOrder:
    """Check a parsed 0x v1 order: ranges, signature (first), exchange, expiry."""
    problems = []
    for name in ("makerTokenAmount", "takerTokenAmount"):
        value = int(getattr(order, name))
        if not 0 < value <= MAX_QUANTITY:
            problems.append({"field": name, "code": OUT_OF_RANGE,
                             "reason": f"{name} must be from 1 to 38 digits of base units"})
    for name in ("makerFee", "takerFee", "expirationUnixTimestampSec", "salt"):
        if int(getattr(order, name)) >= 2**256:
            problems.append({"field": name, "code": OUT_OF_RANGE, "reason": f"{name} exceeds uint256"})
    if problems:
        raise RelayerError(400, VALIDATION_FAILED, "Validation Failed", problems)
    fields = {name: getattr(order, name) or NULL_ADDRESS for name in _SRA_FIELDS}
    order_hash = ethereum.zeroex_v1_order_hash(fields)
    sig = order.ecSignature
    if not ethereum.signer_matches(order.maker, bytes.fromhex(order_hash), sig.v, bytes.fromhex(sig.r[2:]),
                                   bytes.fromhex(sig.s[2:]), allow_unprefixed=False):
        raise RelayerError(400, SIGNATURE_FAILED, "Signature Verify Failed.")
    if order.exchangeContractAddress != settings.get("LAMBDEX_0X_EXCHANGE").lower():
        raise invalid("exchangeContractAddress", UNSUPPORTED_ADDRESS,
                      f"orders must be for the exchange contract {settings.get('LAMBDEX_0X_EXCHANGE').lower()}")
    # The signed value stays as signed (it is part of the hash); the ledger's expiry is
    # capped where a far-future one (2^256-1 means "never") still fits a DynamoDB number.
    expires_at = min(int(order.expirationUnixTimestampSec), MAX_LEDGER_EXPIRY)
    if expires_at <= now:
        raise invalid("expirationUnixTimestampSec", OUT_OF_RANGE, "the order has expired")
    taker = order.taker if order.taker and order.taker != NULL_ADDRESS else None
    signed = {**fields, "v": str(sig.v), "r": sig.r, "s": sig.s}
    return tokens.TokenOrder(
        maker=order.maker, maker_token=order.makerTokenAddress, maker_amount=int(order.makerTokenAmount),
        taker_token=order.takerTokenAddress, taker_amount=int(order.takerTokenAmount), expires_at=expires_at,
        order_hash=order_hash, taker=taker, signed_order=signed,
    )


@relayer.route("/v0/order", methods=["POST"])
def post_order():
    now = clock()
    placed = tokens.place_token_order(token_order(parse(OrderIn, body()), int(now.now())), now)
    return json_response(udex_order(placed.order, placed.market), 201 if placed.created else 200)


@relayer.route("/v0/orders/{order_hash}", methods=["DELETE"])
def cancel_order(order_hash):
    address = authenticated()
    order = orders.cancel_order(order_hash_param(order_hash), address, clock())
    return json_response(udex_order(order, MarketCache()(order.market)))


def my_orders(open_only: bool) -> list[dict]:
    address = authenticated()
    params = query_params(relayer.current_request)
    page, per_page = page_params(params)
    pair = params.get("pair")
    market_id = tokens.resolve_pair(pair).market.id if pair else None
    token = address_param(params, "tokenAddress")
    maker_token = address_param(params, "makerTokenAddress")
    token_asset = tokens.token_asset(token, "tokenAddress").name if token else None
    maker_asset = tokens.token_asset(maker_token, "makerTokenAddress").name if maker_token else None
    found = tokens.open_orders_of(address) if open_only else tokens.orders_of(address)
    wanted = page * per_page
    rows: list[Order] = []
    for order in found:
        if order.signed_order is None:  # 0x routes show signed 0x orders only
            continue
        if market_id and order.market != market_id:
            continue
        if token_asset and token_asset not in (order.give_asset, order.get_asset):
            continue
        if maker_asset and order.give_asset != maker_asset:
            continue
        rows.append(order)
        if not open_only and len(rows) >= wanted:
            break
    rows.sort(key=lambda o: (int(o.tx_index), o.tx_hash), reverse=True)
    markets = MarketCache()
    return [udex_order(o, markets(o.market)) for o in paged(rows, page, per_page)]


@relayer.route("/v0/openOrders", methods=["GET"])
def open_orders():
    return json_response([{**row, "txId": "", "txAmount": ""} for row in my_orders(open_only=True)])


@relayer.route("/v0/orderHistory", methods=["GET"])
def order_history():
    return json_response(my_orders(open_only=False))


# -- markets and books --------------------------------------------------------------------------

@relayer.route("/v0/markets", methods=["GET"])
def markets():
    rows = []
    for tm, stats in tokens.token_markets_with_stats(clock()):
        market, base, quote = tm.market, tm.base, tm.quote
        rows.append({
            "id": int(market.number),
            "marketId": market.id,
            "name": market.name or market.id,
            "url": market.url or "",
            "baseToken": quote.token_address,  # the relayer calls the quote (pricing) token "baseToken"
            "tradeToken": base.token_address,
            "price24h": display_price(stats.price_24h, tm) if stats.price_24h is not None else 0,
            "price": display_price(stats.last, tm) if stats.last is not None else 0,
            "tradeTokenVolume": to_decimal_string(stats.base_volume, int(base.decimals)),
            "baseTokenVolume": to_decimal_string(stats.quote_volume, int(quote.decimals)),
            "decimals": int(base.decimals),
            "miniAmount": float(Fraction(int(market.min_amount), 10 ** int(base.decimals))),
            "fee": float(Fraction(market.fee)),
        })
    return json_response(rows)


@relayer.route("/v0/orderbook", methods=["GET"])
def orderbook():
    params = query_params(relayer.current_request)
    page, per_page = page_params(params)
    depth = page * per_page
    sra_base = address_param(params, "baseTokenAddress")
    sra_quote = address_param(params, "quoteTokenAddress")
    if sra_base or sra_quote:  # SRA v0: signed orders, bids buy the client's base token
        if not (sra_base and sra_quote):
            field = "quoteTokenAddress" if sra_base else "baseTokenAddress"
            raise invalid(field, REQUIRED, "Required field")
        return json_response(sra_orderbook(sra_base, sra_quote, page, per_page))
    pair = params.get("pair")
    if not pair:
        raise invalid("pair", REQUIRED, "Required field (a market id such as ZRX-WETH, or a token address)")
    tm = tokens.resolve_pair(pair)
    bids = book_sorted(tokens.book_depth(tm.market.id, "buy", depth, signed_only=True), descending=True)
    asks = book_sorted(tokens.book_depth(tm.market.id, "sell", depth, signed_only=True), descending=False)
    return json_response({"bids": [udex_order(o, tm) for o in paged(bids, page, per_page)],
                          "asks": [udex_order(o, tm) for o in paged(asks, page, per_page)]})


def sra_orderbook(sra_base: str, sra_quote: str, page: int = 1, per_page: int = 100) -> dict[str, list]:
    """SRA v0's order book of a token pair: signed orders; bids buy the client's base token.
    Also the snapshot of the WebSocket `orderbook` channel (chalicelib/realtime)."""
    depth = page * per_page
    tm = tokens.market_of_tokens(sra_base, sra_quote, "baseTokenAddress")
    bid_side, ask_side = ("buy", "sell") if tm.base.token_address == sra_base else ("sell", "buy")
    bids = tokens.book_depth(tm.market.id, bid_side, depth, signed_only=True)
    asks = tokens.book_depth(tm.market.id, ask_side, depth, signed_only=True)
    return {
        "bids": [sra_order(o) for o in paged(_sra_book_sorted(bids), page, per_page)],
        "asks": [sra_order(o) for o in paged(_sra_book_sorted(asks), page, per_page)],
    }


def _sra_book_sorted(found: list[Order]) -> list[Order]:
    """SRA order: bids by price (client's quote per base) descending, asks ascending. On both
    sides that is the maker's asking price takerTokenAmount/makerTokenAmount ascending (the
    book's own order); then total fees, then expiration."""
    def key(order: Order):
        return (Fraction(int(order.get_quantity), int(order.give_quantity)), fees_of(order), expiry_of(order),
                int(order.tx_index))

    return sorted(found, key=key)


# -- Standard Relayer API v0 --------------------------------------------------------------------

@relayer.route("/v0/token_pairs", methods=["GET"])
def token_pairs():
    params = query_params(relayer.current_request)
    page, per_page = page_params(params)
    wanted = {a for a in (address_param(params, "tokenA"), address_param(params, "tokenB")) if a}
    rows = []
    for tm in tokens.token_markets():
        pair_tokens = {tm.base.token_address, tm.quote.token_address}
        if wanted <= pair_tokens:
            rows.append({
                "tokenA": {"address": tm.base.token_address, "minAmount": str(tm.market.min_amount),
                           "maxAmount": str(MAX_QUANTITY), "precision": int(tm.base.decimals)},
                "tokenB": {"address": tm.quote.token_address, "minAmount": "0",
                           "maxAmount": str(MAX_QUANTITY), "precision": int(tm.quote.decimals)},
            })
    return json_response(paged(rows, page, per_page))


@relayer.route("/v0/orders", methods=["GET"])
def sra_orders():
    params = query_params(relayer.current_request)
    page, per_page = page_params(params)
    f = {name: address_param(params, name) for name in (
        "exchangeContractAddress", "tokenAddress", "makerTokenAddress", "takerTokenAddress", "tokenA", "tokenB",
        "maker", "taker", "trader", "feeRecipient")}
    known = tokens.token_markets()
    market_ids = [tm.market.id for tm in known]
    for name in ("tokenAddress", "makerTokenAddress", "takerTokenAddress", "tokenA", "tokenB"):
        if f[name]:
            market_ids = [tm.market.id for tm in known
                          if tm.market.id in market_ids and f[name] in (tm.base.token_address, tm.quote.token_address)]
    if f["exchangeContractAddress"] and f["exchangeContractAddress"] != settings.get("LAMBDEX_0X_EXCHANGE").lower():
        market_ids = []
    taker = f["taker"] if f["taker"] != NULL_ADDRESS else None
    found = tokens.open_order_candidates(market_ids, maker=f["maker"], taker=taker, trader=f["trader"])

    def keep(order: Order) -> bool:
        signed = signed_fields(order)
        if not signed:
            return False
        checks = {"makerTokenAddress": signed["makerTokenAddress"], "takerTokenAddress": signed["takerTokenAddress"],
                  "maker": signed["maker"], "taker": signed["taker"], "feeRecipient": signed["feeRecipient"]}
        if any(f[name] and f[name] != value for name, value in checks.items()):
            return False
        tokens_of = {signed["makerTokenAddress"], signed["takerTokenAddress"]}
        if any(f[name] and f[name] not in tokens_of for name in ("tokenAddress", "tokenA", "tokenB")):
            return False
        return not f["trader"] or f["trader"] in (signed["maker"], signed["taker"])

    # bounded: at most MAX_SRA_READ open orders are read (books best first, or an owner's own)
    rows = [o for o in itertools.islice(found, MAX_SRA_READ) if keep(o)]
    if f["makerTokenAddress"] and f["takerTokenAddress"]:
        rows.sort(key=lambda o: (Fraction(int(o.get_quantity), int(o.give_quantity)), int(o.tx_index)))
    else:
        rows.sort(key=lambda o: int(o.tx_index), reverse=True)
    return json_response([sra_order(o) for o in paged(rows, page, per_page)])


@relayer.route("/v0/order/{order_hash}", methods=["GET"])
def sra_order_by_hash(order_hash):
    order = orders.get_order(order_hash_param(order_hash))
    if order.signed_order is None:
        raise NotFound(f"order {order.tx_hash} is not a 0x order")
    return json_response(sra_order(order))


@relayer.route("/v0/fees", methods=["POST"])
def fees():
    request = parse(FeesIn, body())
    tokens.market_of_tokens(request.makerTokenAddress, request.takerTokenAddress)
    # This relayer takes its fee inside the ledger (the market's fee rate), not through 0x fees.
    return json_response({"feeRecipient": NULL_ADDRESS, "makerFee": "0", "takerFee": "0"})

