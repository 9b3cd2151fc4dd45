"""Market statistics derived from order matches (Query of `OrderMatch.by_market`).

Prices are exact Fractions of quote base units per base base unit; volumes are base units.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from chalicelib.ledger.clock import Clock
from chalicelib.ledger.models import Market, OrderMatch

DAY_US = 24 * 3600 * 1_000_000


@dataclass(frozen=True)
class MarketStats:
    price: Fraction | None  # last trade
    price_24h: Fraction | None  # the price 24 hours ago (last trade before the window, else its first)
    base_volume: int  # traded in the last 24 hours
    quote_volume: int
    trades: int


def match_sides(market: Market, match: OrderMatch) -> tuple[int, int]:
    """(base quantity, quote quantity) of one match."""
    if match.forward_asset == market.base:
        return int(match.forward_quantity), int(match.backward_quantity)
    return int(match.backward_quantity), int(match.forward_quantity)


def match_price(market: Market, match: OrderMatch) -> Fraction:
    base, quote = match_sides(market, match)
    return Fraction(quote, base)


def market_stats(market: Market, clock: Clock) -> MarketStats:
    since = clock.now_us() - DAY_US
    window = [m for m in OrderMatch.by_market.query(market.id, OrderMatch.time_us >= since)
              if m.status != "expired"]
    before = next(iter(OrderMatch.by_market.query(market.id, OrderMatch.time_us < since,
                                                  scan_index_forward=False, limit=1)), None)
    base_volume = quote_volume = 0
    for match in window:
        base, quote = match_sides(market, match)
        base_volume += base
        quote_volume += quote
    last = window[-1] if window else before
    if market.last_price:
        price: Fraction | None = Fraction(market.last_price)
    else:
        price = match_price(market, last) if last is not None else None
    first = before if before is not None else (window[0] if window else None)
    price_24h = match_price(market, first) if first is not None else None
    return MarketStats(price, price_24h, base_volume, quote_volume, len(window))
