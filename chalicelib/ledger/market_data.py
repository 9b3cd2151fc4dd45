"""Read models of a market: its order book by price level, its last 24 hours, fills.

Prices here are exact Fractions of quote *base units* per base *base unit*; dialects
scale them by the assets' decimals for display.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction

from chalicelib.ledger import stores
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.stores.markets import Market
from chalicelib.ledger.stores.matches import Match
from chalicelib.ledger.stores.orders import BookEntry, Order

DAY_US = 86_400 * 1_000_000


def base_quantity(order: BookEntry, remaining: bool = True) -> int:
    """How much of the market's base asset the order buys or sells (remaining or in all)."""
    if order.side == "sell":
        return order.give_remaining if remaining else order.give_quantity
    return max(order.get_remaining if remaining else order.get_quantity, 0)


def limit_price(order: BookEntry) -> Fraction:
    """The order's limit in quote base units per base base unit."""
    if order.side == "sell":
        return Fraction(order.get_quantity, order.give_quantity)
    return Fraction(order.give_quantity, order.get_quantity)


def open_orders(market: str, side: str, limit: int = 1000) -> list[Order]:
    """One side of the book, best first (consistent read of the `book` local index)."""
    letter = "B" if side == "buy" else "S"
    return list(stores.orders().open_side(market, letter, limit=limit))


def price_levels(market: str, side: str, depth: int = 50) -> list[tuple[Fraction, int]]:
    """(price, base amount) per level, best first; bids highest first, asks lowest first."""
    levels: OrderedDict[Fraction, int] = OrderedDict()
    for order in open_orders(market, side):
        price = limit_price(order)
        levels[price] = levels.get(price, 0) + base_quantity(order)
    ordered = sorted(levels.items(), key=lambda level: level[0], reverse=(side == "buy"))
    return [level for level in ordered if level[1] > 0][:depth]


def fill_price(market: Market, match: Match) -> tuple[Fraction, int, int]:
    """(price, base quantity, quote quantity) of one match."""
    if match.forward_asset == market.base:
        base, quote = match.forward_quantity, match.backward_quantity
    else:
        base, quote = match.backward_quantity, match.forward_quantity
    return Fraction(quote, base), base, quote


@dataclass
class DayStats:
    last: Fraction | None = None  # the last trade's price
    price_24h: Fraction | None = None  # 24 h ago: the last trade before the window, else its first
    high: Fraction | None = None
    low: Fraction | None = None
    base_volume: int = 0
    quote_volume: int = 0
    trades: int = 0


def day_stats(market: Market, clock: Clock) -> DayStats:
    """The last 24 hours of a market, from its matches (Queries of `by_market`)."""
    stats = DayStats()
    since = clock.now_us() - DAY_US
    for match in stores.matches().of_market(market.id, since_us=since):
        if match.status == "expired":
            continue
        price, base, quote = fill_price(market, match)
        stats.price_24h = price if stats.price_24h is None else stats.price_24h
        stats.last = price
        stats.high = price if stats.high is None else max(stats.high, price)
        stats.low = price if stats.low is None else min(stats.low, price)
        stats.base_volume += base
        stats.quote_volume += quote
        stats.trades += 1
    before = next(stores.matches().of_market(market.id, before_us=since, newest_first=True, limit=1), None)
    if before is not None:
        stats.price_24h = fill_price(market, before)[0]
        stats.last = stats.last if stats.last is not None else stats.price_24h
    return stats


def matches_of_order(tx_hash: str) -> list[Match]:
    return stores.matches().of_order(tx_hash.lower().removeprefix("0x"))


def matches_of_address(address: str, limit: int = 100, offset: int = 0, market: str | None = None
                       ) -> list[Match]:
    """An address's matches (as tx0 or tx1), newest first, `offset` skipped, optionally one
    market's. Both per-address indexes are read newest first, as far as the page needs (the
    market a filter on the Query, which keeps paging until it has them): every match is reachable."""
    wanted = offset + limit
    found = [m for role in ("tx0", "tx1")
             for m in stores.matches().of_address(address, role, market=market, limit=wanted, newest_first=True)]
    unique = {m.id: m for m in found}  # a match of an address with itself is in both
    return sorted(unique.values(), key=lambda m: (m.time_us, m.id), reverse=True)[offset:wanted]


def open_orders_of(source: str, limit: int = 100, offset: int = 0, market: str | None = None) -> list[Order]:
    """An owner's open orders from the sparse `open_by_source` index (only open orders carry a
    book key), in its order: buys then sells, each best price first, then arrival."""
    return list(stores.orders().open_of_source(source, market=market, limit=offset + limit))[offset:offset + limit]


def get_match(match_id: str) -> Match | None:
    return stores.matches().get(match_id)
