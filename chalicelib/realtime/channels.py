"""The realtime protocol: what clients send, the channels, and the shapes of what they get.

Every message is a JSON object `{"type", "channel", "requestId", "payload"}`, the envelope
of SRA v0's WebSocket API, which Lambdex's own channels share (docs/realtime.md):

- `orderbook` (SRA v0): signed 0x orders of a token pair, a snapshot then one `update` per
  order added, filled, cancelled or expired;
- `trades`, `ticker`, `book` of a market (`payload.market`, e.g. "ZRX-WETH");
- `orders`: an account's own orders and fills (`payload.apiKey`: a CoinBTR key, or
  `payload.token`: a relayer JWT; never in the URL, which API Gateway logs).

Parsing raises `ProtocolError` with the SRA-style error body the client gets back.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from chalicelib.ledger.amounts import fraction_to_decimal_string
from chalicelib.ledger.clock import iso_utc
from chalicelib.ledger.market_data import DayStats, base_quantity, limit_price
from chalicelib.ledger.stores.matches import Match
from chalicelib.ledger.stores.orders import Order
from chalicelib.ledger.tokens import TokenMarket

CHANNELS = ("orderbook", "trades", "ticker", "book", "orders")
MARKET_CHANNELS = ("trades", "ticker", "book")
MAX_MESSAGE_BYTES = 32 * 1024  # API Gateway's WebSocket frame limit (what a client may send)
MAX_POST_BYTES = 120 * 1024  # post_to_connection takes at most 128 KB: room for the envelope
MAX_SRA_LIMIT = 100  # SRA v0's perPage maximum
RECENT_TRADES = 50

# SRA v0's error codes (its REST API's; the WebSocket part of v0 defines none of its own).
VALIDATION_FAILED = 100
MALFORMED_JSON = 101
REQUIRED_FIELD = 1000
INCORRECT_FORMAT = 1001
INVALID_ADDRESS = 1002
UNSUPPORTED_OPTION = 1005
UNAUTHORIZED = 401  # `orders` channel: a bad key or token

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class ProtocolError(Exception):
    def __init__(self, reason: str, *, code: int = VALIDATION_FAILED, field: str | None = None,
                 field_code: int = INCORRECT_FORMAT, channel: str | None = None, request_id: Any = None):
        super().__init__(reason)
        self.reason, self.code, self.field, self.field_code = reason, code, field, field_code
        self.channel, self.request_id = channel, request_id

    def message(self) -> dict:
        payload: dict[str, Any] = {"code": self.code, "reason": self.reason}
        if self.field is not None:
            payload["validationErrors"] = [{"field": self.field, "code": self.field_code, "reason": self.reason}]
        return envelope("error", self.channel, self.request_id, payload)


@dataclass(frozen=True)
class Request:
    type: str  # subscribe | unsubscribe | ping
    channel: str | None
    request_id: Any
    payload: dict = field(default_factory=dict)


def envelope(kind: str, channel: str | None, request_id: Any, payload: Any) -> dict:
    return {"type": kind, "channel": channel, "requestId": request_id, "payload": payload}


def encode(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


def parse(body: str | bytes | None) -> Request:
    if body is None or (isinstance(body, str | bytes) and len(body) > MAX_MESSAGE_BYTES):
        raise ProtocolError("a message is one JSON object of at most 32 KB", code=MALFORMED_JSON)
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        raise ProtocolError("Malformed JSON", code=MALFORMED_JSON) from None
    if not isinstance(data, dict):
        raise ProtocolError("a message is a JSON object", code=MALFORMED_JSON)
    request_id = data.get("requestId")
    channel = data.get("channel")
    if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, int | str)
                                   or len(str(request_id)) > 64):
        raise ProtocolError("requestId must be a number or a short string", field="requestId",
                            channel=channel if isinstance(channel, str) else None)
    kind = data.get("type")
    if kind == "ping":
        return Request("ping", None, request_id)
    if kind not in ("subscribe", "unsubscribe"):
        raise ProtocolError("type must be subscribe, unsubscribe or ping", field="type",
                            field_code=REQUIRED_FIELD if kind is None else INCORRECT_FORMAT, request_id=request_id)
    if channel not in CHANNELS:
        raise ProtocolError(f"channel must be one of {', '.join(CHANNELS)}", field="channel",
                            field_code=REQUIRED_FIELD if channel is None else UNSUPPORTED_OPTION,
                            request_id=request_id)
    payload = data.get("payload", {})
    if not isinstance(payload, dict):
        raise ProtocolError("payload must be an object", field="payload", channel=channel, request_id=request_id)
    if channel == "orderbook" and request_id is None:
        raise ProtocolError("requestId is required", field="requestId", field_code=REQUIRED_FIELD,
                            channel=channel)
    return Request(kind, channel, request_id, payload)


def sra_options(request: Request) -> tuple[str, str, bool, int]:
    """(baseTokenAddress, quoteTokenAddress, snapshot, limit) of an SRA orderbook subscribe."""
    payload = request.payload
    addresses = []
    for name in ("baseTokenAddress", "quoteTokenAddress"):
        value = payload.get(name)
        if value is None:
            raise _field_error(request, name, "Required field", REQUIRED_FIELD)
        if not isinstance(value, str) or not _ADDRESS.match(value):
            raise _field_error(request, name, "Invalid address", INVALID_ADDRESS)
        addresses.append(value.lower())
    snapshot = payload.get("snapshot", True)
    if not isinstance(snapshot, bool):
        raise _field_error(request, "snapshot", "snapshot must be true or false")
    limit = payload.get("limit", MAX_SRA_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int | float) or limit != int(limit) or not 1 <= limit:
        raise _field_error(request, "limit", "limit must be a positive integer")
    return addresses[0], addresses[1], snapshot, min(int(limit), MAX_SRA_LIMIT)


def market_option(request: Request) -> str:
    market = request.payload.get("market")
    if market is None:
        raise _field_error(request, "market", "Required field (a market id such as ZRX-WETH)", REQUIRED_FIELD)
    if not isinstance(market, str) or not 0 < len(market) <= 64:
        raise _field_error(request, "market", "market must be a market id such as ZRX-WETH")
    return market


def _field_error(request: Request, name: str, reason: str, code: int = INCORRECT_FORMAT) -> ProtocolError:
    return ProtocolError(reason, field=name, field_code=code, channel=request.channel, request_id=request.request_id)


# -- display ---------------------------------------------------------------------------------

def decimal_text(value: Fraction, places: int) -> str:
    """A decimal string without trailing zeros (display only; rounds half away from zero)."""
    text = fraction_to_decimal_string(value, places)
    return format(Decimal(text).normalize(), "f") if "." in text else text


def price_text(tm: TokenMarket, units_price: Fraction) -> str:
    """Quote per base, in whole units, from a price in base units."""
    scale = Fraction(10) ** (int(tm.base.decimals) - int(tm.quote.decimals))
    return decimal_text(units_price * scale, int(tm.quote.decimals) + int(tm.base.decimals) + 2)


def base_text(tm: TokenMarket, units: int) -> str:
    return decimal_text(Fraction(units, 10 ** int(tm.base.decimals)), int(tm.base.decimals))


def quote_text(tm: TokenMarket, units: int) -> str:
    return decimal_text(Fraction(units, 10 ** int(tm.quote.decimals)), int(tm.quote.decimals))


def levels_view(tm: TokenMarket, levels: list[tuple[Fraction, int]]) -> list[list[str]]:
    return [[price_text(tm, price), base_text(tm, amount)] for price, amount in levels]


def book_delta(tm: TokenMarket, old: dict[str, list[tuple[Fraction, int]]],
               new: dict[str, list[tuple[Fraction, int]]]) -> dict[str, list[list[str]]]:
    """Per side, each level whose amount changed: [price, new amount], "0" for a level gone."""
    delta: dict[str, list[list[str]]] = {}
    for side in ("bids", "asks"):
        before, after = dict(old.get(side, [])), dict(new.get(side, []))
        changed = [(p, after.get(p, 0)) for p in sorted(set(before) | set(after), reverse=(side == "bids"))
                   if before.get(p) != after.get(p)]
        delta[side] = levels_view(tm, changed)
    return delta


def trade_side(tm: TokenMarket, match: Match) -> str:
    """The taker's side (tx1, the incoming order): it sold the base if the resting order gave the quote."""
    return "buy" if match.forward_asset == tm.market.base else "sell"


def trade_view(tm: TokenMarket, match: Match, seq: int | None = None) -> dict:
    if match.forward_asset == tm.market.base:
        base, quote = match.forward_quantity, match.backward_quantity
    else:
        base, quote = match.backward_quantity, match.forward_quantity
    row = {"market": tm.market.id, "id": match.id, "price": price_text(tm, Fraction(quote, base)),
           "amount": base_text(tm, base), "quoteAmount": quote_text(tm, quote), "side": trade_side(tm, match),
           "status": match.status, "time": iso_utc(match.time_us), "timeUs": match.time_us}
    if seq is not None:
        row["seq"] = seq
    return row


def ticker_view(tm: TokenMarket, stats: DayStats, levels: dict[str, list[tuple[Fraction, int]]],
                now_us: int) -> dict:
    def price(value: Fraction | None) -> str | None:
        return None if value is None else price_text(tm, value)

    bids, asks = levels.get("bids", []), levels.get("asks", [])
    change = None
    if stats.last is not None and stats.price_24h:
        change = decimal_text((stats.last - stats.price_24h) * 100 / stats.price_24h, 2)
    return {"market": tm.market.id, "base": tm.base.name, "quote": tm.quote.name, "last": price(stats.last),
            "open24h": price(stats.price_24h), "high24h": price(stats.high), "low24h": price(stats.low),
            "change24hPercent": change, "volume24h": base_text(tm, stats.base_volume),
            "quoteVolume24h": quote_text(tm, stats.quote_volume), "trades24h": stats.trades,
            "bestBid": price(bids[0][0]) if bids else None, "bestAsk": price(asks[0][0]) if asks else None,
            "time": iso_utc(now_us)}


def order_view(tm: TokenMarket, order: Order) -> dict:
    amount, remaining = base_quantity(order, remaining=False), base_quantity(order)
    return {"event": "order", "id": order.tx_hash, "market": order.market, "side": order.side,
            "price": price_text(tm, limit_price(order)), "amount": base_text(tm, amount),
            "remaining": base_text(tm, remaining if order.status == "open" else 0),
            "status": order.status, "dialect": order.dialect,
            "time": iso_utc(order.updated_us or order.created_us)}


def fill_view(tm: TokenMarket, match: Match, account: str) -> dict:
    row = trade_view(tm, match)
    row["event"] = "fill"
    row["order"] = match.tx1_hash if match.tx1_address == account else match.tx0_hash
    row["role"] = "taker" if match.tx1_address == account else "maker"
    if row["role"] == "maker":
        row["side"] = "sell" if row["side"] == "buy" else "buy"
    return row
