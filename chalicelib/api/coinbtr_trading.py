"""CoinBTR trading, profile and public market routes.

Bodies (the spec leaves them out; documented in docs/coinbtr.md): placing takes
`{"market": "AAA-BBB", "price": "0.5", "amount": "4", "client_order_id"?: "..."}` (decimal
strings or numbers; amount in the base asset, price in quote per base; the client order id,
or an `Idempotency-Key` header, makes a retry return the first order) and answers with the
order (`data.id`); cancelling takes `{"id": ...}`. Public market routes take `market=<id>`.
Every route takes JSON or a form, in the body or (GET) the query string.

A limit order is base-capped: a buy never receives more than `amount` (cap "get": each fill at
the resting price, the unspent quote back on close), a sell never gives more and sells all of
it while bids at or above its price remain (cap "give_all").
"""

from __future__ import annotations

from fractions import Fraction

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from chalicelib.api.coinbtr_common import BODY_TYPES, ok, request_data, require_key
from chalicelib.api.common import BadRequest, paging, parse
from chalicelib.errors import InvalidInput, NotFound
from chalicelib.ledger import assets, market_data, markets, orders
from chalicelib.ledger.amounts import to_base_units, to_float
from chalicelib.ledger.clock import current as clock
from chalicelib.ledger.clock import iso_utc

coinbtr_trading = Blueprint(__name__)


class PlaceIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, defer_build=True)  # built on first use
    market: str = Field(min_length=3, max_length=65)
    price: StrictStr | StrictFloat | StrictInt  # a JSON true is not 1
    amount: StrictStr | StrictFloat | StrictInt
    client_order_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")


class IdIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, defer_build=True)  # built on first use
    id: str = Field(min_length=1, max_length=130)


class FillsIn(BaseModel):
    """listtransactions: optionally one market's fills."""
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, defer_build=True)  # built on first use
    market: str | None = Field(default=None, max_length=65)


class OpenOrdersIn(FillsIn):
    """listopenorders: with `id`, that one order (the spec documents 'get open order' on this path)."""
    id: str | None = Field(default=None, max_length=130)


def data() -> dict:
    return request_data(coinbtr_trading.current_request)


def display_price(market, price: Fraction) -> float:
    """Quote per base in coin units, from base units."""
    base, quote = assets.get_asset(market.base), assets.get_asset(market.quote)
    return float(price * Fraction(10**base.decimals, 10**quote.decimals))


def order_view(order) -> dict:
    market = markets.get_market(order.market)
    base = assets.get_asset(market.base)
    amount, remaining = market_data.base_quantity(order, remaining=False), market_data.base_quantity(order)
    if order.status != "open":
        remaining = 0 if order.status == "filled" else remaining
    return {
        "id": order.tx_hash, "market": order.market, "side": order.side,
        "type": f"{order.side}limit", "price": display_price(market, market_data.limit_price(order)),
        "amount": to_float(amount, base.decimals), "remaining": to_float(remaining, base.decimals),
        "filled": to_float(amount - market_data.base_quantity(order), base.decimals),
        "status": order.status, "created_at": iso_utc(int(order.created_us)),
        "updated_at": iso_utc(int(order.updated_us)),
    }


def transaction_view(match, account: str) -> dict:
    market = markets.get_market(match.market)
    base, quote = assets.get_asset(market.base), assets.get_asset(market.quote)
    price, base_qty, quote_qty = market_data.fill_price(market, match)
    mine_is_tx0 = match.tx0_address == account
    gave = match.forward_asset if mine_is_tx0 else match.backward_asset
    return {
        "id": match.id, "market": match.market, "side": "sell" if gave == market.base else "buy",
        "price": display_price(market, price), "amount": to_float(base_qty, base.decimals),
        "total": to_float(quote_qty, quote.decimals), "role": "maker" if mine_is_tx0 else "taker",
        "order_id": match.tx0_hash if mine_is_tx0 else match.tx1_hash,
        "fee": to_float(int(match.fee_paid), assets.get_asset(match.fee_asset).decimals)
        if not mine_is_tx0 and match.fee_asset else 0.0,
        "status": match.status, "date": iso_utc(int(match.time_us)),
    }


def order_terms(side: str, spec: PlaceIn) -> orders.OrderRequest:
    """Decimal price and amount -> integer give/get, rounded never against the user: a buy
    locks at most amount*price (rounded down), a sell asks at least that (rounded up)."""
    market = markets.get_market(spec.market)
    base, quote = assets.get_asset(market.base), assets.get_asset(market.quote)
    amount = to_base_units(spec.amount, base.decimals, "amount")
    price = Fraction(to_base_units(spec.price, 30, "price"), 10**30)
    if price <= 0:
        raise InvalidInput("price must be positive", field="price")
    total = Fraction(amount, 10**base.decimals) * price * 10**quote.decimals
    if side == "buy":
        give, get = total.numerator // total.denominator, amount
        give_asset, get_asset = quote.name, base.name
    else:
        give, get = amount, -(-total.numerator // total.denominator)
        give_asset, get_asset = base.name, quote.name
    if give <= 0 or get <= 0:
        raise InvalidInput("amount * price is smaller than one base unit of the quote asset", field="amount")
    return orders.OrderRequest(source="", give_asset=give_asset, give_quantity=give, get_asset=get_asset,
                               get_quantity=get, dialect="coinbtr", market=market.id,
                               cap="get" if side == "buy" else "give_all", client_order_id=spec.client_order_id)


def place(side: str):
    request = coinbtr_trading.current_request
    key = require_key(request, "trade")
    spec = parse(PlaceIn, request_data(request))
    header = request.headers.get("idempotency-key")
    if header is not None:
        from_header = parse(PlaceIn, {**spec.model_dump(), "client_order_id": header.strip()}).client_order_id
        if spec.client_order_id not in (None, from_header):
            raise InvalidInput("client_order_id and the Idempotency-Key header differ", field="client_order_id")
        spec.client_order_id = from_header
    terms = order_terms(side, spec)
    terms.source = key.account
    order, _ = orders.place_order(terms, clock())
    return ok(order_view(order))


@coinbtr_trading.route("/api/v1/trading/place/buylimit", methods=["POST"], content_types=BODY_TYPES)
def place_buy_limit():
    return place("buy")


@coinbtr_trading.route("/api/v1/trading/place/selllimit", methods=["POST"], content_types=BODY_TYPES)
def place_sell_limit():
    return place("sell")


# The spec's own examples also use these shorter paths.
@coinbtr_trading.route("/api/v1/trading/buylimit", methods=["POST"], content_types=BODY_TYPES)
def place_buy_limit_alias():
    return place("buy")


@coinbtr_trading.route("/api/v1/trading/selllimit", methods=["POST"], content_types=BODY_TYPES)
def place_sell_limit_alias():
    return place("sell")


def cancel():
    key = require_key(coinbtr_trading.current_request, "trade")
    spec = parse(IdIn, data())
    order = orders.cancel_order(spec.id, key.account, clock())
    return ok(order_view(order))


for _path in ("/api/v1/trading/cancel", "/api/v1/trading/cancel/buylimit", "/api/v1/trading/cancel/selllimit",
              "/api/v1/trading/cancelorder"):
    coinbtr_trading.route(_path, methods=["POST"], content_types=BODY_TYPES, name=f"cancel_{_path.rsplit('/', 1)[-1]}")(
        cancel)


@coinbtr_trading.route("/api/v1/trading/listopenorders", methods=["GET", "POST"], content_types=BODY_TYPES)
def list_open_orders():
    key = require_key(coinbtr_trading.current_request, "read")
    spec = parse(OpenOrdersIn, data())
    if spec.id:  # the spec documents "get open order" on this same path
        return ok(one_order(key.account, spec.id))
    limit, offset = paging(data())
    market = markets.get_market(spec.market).id if spec.market else None
    return ok([order_view(o) for o in market_data.open_orders_of(key.account, limit, offset, market)])


def one_order(account: str, order_id: str) -> dict:
    order = orders.get_order(order_id)
    if order.source != account:
        raise NotFound(f"no order {order_id} of this account")
    return order_view(order)


@coinbtr_trading.route("/api/v1/trading/getopenorder", methods=["GET", "POST"], content_types=BODY_TYPES)
def get_open_order():
    key = require_key(coinbtr_trading.current_request, "read")
    return ok(one_order(key.account, parse(IdIn, data()).id))


@coinbtr_trading.route("/api/v1/trading/listtransactions", methods=["GET", "POST"], content_types=BODY_TYPES)
def list_transactions():
    key = require_key(coinbtr_trading.current_request, "read")
    spec = parse(FillsIn, data())
    limit, offset = paging(data())
    market = markets.get_market(spec.market).id if spec.market else None
    return ok([transaction_view(m, key.account)
               for m in market_data.matches_of_address(key.account, limit, offset, market)])


@coinbtr_trading.route("/api/v1/trading/gettransaction", methods=["GET", "POST"], content_types=BODY_TYPES)
def get_transaction():
    key = require_key(coinbtr_trading.current_request, "read")
    match = market_data.get_match(parse(IdIn, data()).id)
    if match is None or key.account not in (match.tx0_address, match.tx1_address):
        raise NotFound("no such transaction of this account")
    return ok(transaction_view(match, key.account))


# -- profile and session --------------------------------------------------------

def profile():
    key = require_key(coinbtr_trading.current_request, "read")
    return ok({"account": key.account, "scopes": key.scopes, "label": key.label,
               "created_at": iso_utc(int(key.created_us))})


@coinbtr_trading.route("/api/v1/wallet/user/profile", methods=["GET"])
def user_profile():
    return profile()


@coinbtr_trading.route("/api/v1/user/session", methods=["GET"])
def user_session():
    return profile()


# -- public market data ---------------------------------------------------------

def market_param():
    market_id = data().get("market")
    if not isinstance(market_id, str) or not market_id:
        raise BadRequest("give ?market=BASE-QUOTE", field="market")
    return markets.get_market(market_id)


def book_view(market):
    base = assets.get_asset(market.base)
    return {
        side_name: [{"price": display_price(market, price), "amount": to_float(amount, base.decimals)}
                    for price, amount in market_data.price_levels(market.id, side)]
        for side_name, side in (("bids", "buy"), ("asks", "sell"))
    }


def ticker_view(market) -> dict:
    stats = market_data.day_stats(market, clock())
    base, quote = assets.get_asset(market.base), assets.get_asset(market.quote)
    bids, asks = market_data.price_levels(market.id, "buy", 1), market_data.price_levels(market.id, "sell", 1)

    def shown(price):
        return display_price(market, price) if price is not None else None

    return {
        "market": market.id, "last": shown(stats.last), "high": shown(stats.high), "low": shown(stats.low),
        "bid": shown(bids[0][0]) if bids else None, "ask": shown(asks[0][0]) if asks else None,
        "volume": to_float(stats.base_volume, base.decimals),
        "quote_volume": to_float(stats.quote_volume, quote.decimals),
        "change": float((stats.last - stats.price_24h) / stats.price_24h) if stats.last and stats.price_24h else 0.0,
    }


def market_routes(path: str, name: str):
    def register(view):
        coinbtr_trading.route(f"/market/{path}", methods=["GET"], name=name, content_types=BODY_TYPES)(view)
        coinbtr_trading.route(f"/api/v1/market/{path}", methods=["GET"], name=f"{name}_v1",
                              content_types=BODY_TYPES)(view)
        return view

    return register


@market_routes("listbooks", "list_books")
def list_books():
    rows = []
    for market in markets.list_markets():
        base = assets.get_asset(market.base)
        rows.append({"book": market.id, "base": market.base, "quote": market.quote,
                     "minimum_amount": to_float(int(market.min_amount), base.decimals),
                     "fee": float(Fraction(market.fee)), "enabled": market.enabled})
    return ok(rows)


@market_routes("getorderbook", "get_order_book")
def get_order_book():
    return ok({"market": market_param().id, **book_view(market_param())})


@market_routes("getticker", "get_ticker")
def get_ticker():
    return ok(ticker_view(market_param()))


market_routes("gettiker", "get_ticker_as_spelled")(get_ticker)  # the spec's spelling


@market_routes("get24hvolume", "get_24h_volume")
def get_24h_volume():
    market = market_param()
    ticker = ticker_view(market)
    return ok({"market": market.id, "volume": ticker["volume"], "quote_volume": ticker["quote_volume"]})


@market_routes("getcurrencies", "get_currencies")
def get_currencies():
    return ok([{"coin": a.name, "name": a.description or a.name, "decimals": int(a.decimals),
                "deposit": a.deposit, "settlement": a.settlement} for a in assets.list_assets()])
