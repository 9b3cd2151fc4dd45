"""Read models of a market: its order book by price level, its last 24 hours, fills.

Prices here are exact Fractions of quote *base units* per base *base unit*; dialects
scale them by the assets' decimals for display.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

from chalicelib.ledger import stores
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.stores.market_stats import Bucket
from chalicelib.ledger.stores.markets import Market
from chalicelib.ledger.stores.matches import Match
from chalicelib.ledger.stores.orders import BookEntry, Order, OrderStore


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


# -- price levels: a bounded read of the `book` index ---------------------------------------
#
# A side's public keys sort best first by the order's asking price, then arrival
# (`stores.orders.book_key`). The key's price part is a 40-digit truncation: two exact prices
# may share it (and then sort by arrival, interleaved), but a greater price part is always a
# worse exact price. So once the read reaches a new price part, every level behind it is
# complete and exact, and if `depth` of them are non-empty the rest of the side cannot change
# the answer. The read stops there, or when the side ends, or at `LEVEL_READ_CAP` items: then
# the amount of the level(s) being read when it stopped is a lower bound (an attacker's
# thousands of orders at one price cost one bounded read, not one of the whole book).

LEVEL_PAGE = 100  # items per Query page of a level read
LEVEL_READ_CAP = 5_000  # items one level read may read, however deep the side


def price_part(key: str) -> str:
    """The side letter and price of a `book` key (``B#EEEE:MMMM``), without the arrival part."""
    letter_price, mantissa, _ = key.split(":", 2)
    return f"{letter_price}:{mantissa}"


class LevelSum:
    """Price levels of one side summed from its entries in key order (best first)."""

    def __init__(self, side: str, depth: int):
        self.side, self.depth = side, depth
        self.amounts: dict[Fraction, int] = {}
        self.non_empty = 0
        self.part: str | None = None

    def add(self, entry: BookEntry) -> bool:
        """Add one entry; False (and it is not added) once the top `depth` levels are complete."""
        part = price_part(entry.book_key)
        if part != self.part:
            if self.non_empty >= self.depth:
                return False
            self.part = part
        price, amount = limit_price(entry), base_quantity(entry)
        before = self.amounts.get(price, 0)
        self.amounts[price] = before + amount
        self.non_empty += before <= 0 < before + amount
        return True

    def levels(self) -> list[tuple[Fraction, int]]:
        """(price, base amount) per non-empty level, best first; bids highest first."""
        ordered = sorted(self.amounts.items(), key=lambda level: level[0], reverse=(self.side == "buy"))
        return [level for level in ordered if level[1] > 0][: self.depth]


def read_levels(orders: OrderStore, market: str, side: str, depth: int, *,
                page: int = LEVEL_PAGE, cap: int = LEVEL_READ_CAP) -> list[tuple[Fraction, int]]:
    """The top `depth` levels of one public side: consistent, projected Query pages of the
    `book` index, best first, stopping as soon as they are complete (see above)."""
    letter = "B" if side == "buy" else "S"
    summed = LevelSum(side, depth)
    read, after = 0, None
    while read < cap:
        found = orders.side(market, letter, limit=min(page, cap - read), after=after)
        read += len(found.entries)
        if not all(summed.add(entry) for entry in found.entries) or not found.more or not found.entries:
            break
        after = found.entries[-1].book_key
    return summed.levels()


def price_levels(market: str, side: str, depth: int = 50) -> list[tuple[Fraction, int]]:
    """(price, base amount) per level, best first; bids highest first, asks lowest first."""
    return read_levels(stores.orders(), market, side, depth)


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


# -- the 24 h figures, from hourly buckets kept where the trades are written ---------------
#
# Only completed trades count: a fill between two ledger assets completes when it is
# settled, a pending one (an externally settled side) when it is paid (`external.pay_match`),
# in the hour it was matched; one that expires unpaid never counts. Hourly: the window
# is the current hour and the 23 before it (23 to 24 hours of trades), 24 small items read
# by one Query, however many trades they sum.

HOUR_US = 3_600 * 1_000_000
WINDOW_HOURS = 24


def hour_of(time_us: int) -> int:
    return int(time_us) // HOUR_US


@dataclass(frozen=True)
class Trade:
    """One completed fill as the figures see it."""

    price: Fraction  # quote base units per base base unit
    base: int
    quote: int
    time_us: int


def trade_of(market: Market, match: Match) -> Trade:
    price, base, quote = fill_price(market, match)
    return Trade(price, base, quote, int(match.time_us))


def add_trades(bucket: Bucket | None, market_id: str, trades: list[Trade]) -> Bucket:
    """The bucket with `trades` added (all of its hour; the first makes a new bucket).
    Trades may come in any order (a pending match is paid later): the open is the price of
    the earliest trade, the close of the latest, equal times in the order they were added."""
    if not trades:
        raise ValueError("no trades to add")
    hour = hour_of(trades[0].time_us)
    if bucket is not None and bucket.hour != hour:
        raise ValueError(f"trades of hour {hour} added to the bucket of hour {bucket.hour}")
    b = bucket or Bucket(market_id, hour)
    values = dict(trades=b.trades, base_volume=b.base_volume, quote_volume=b.quote_volume, open=b.open,
                  close=b.close, high=b.high, low=b.low, first_us=b.first_us, last_us=b.last_us)
    for t in trades:
        if hour_of(t.time_us) != hour:
            raise ValueError(f"a trade at {t.time_us} does not belong in hour {hour}")
        empty = values["trades"] == 0
        values["trades"] += 1
        values["base_volume"] += t.base
        values["quote_volume"] += t.quote
        values["high"] = t.price if empty else max(values["high"], t.price)
        values["low"] = t.price if empty else min(values["low"], t.price)
        if empty or t.time_us < values["first_us"]:
            values["open"], values["first_us"] = t.price, t.time_us
        if empty or t.time_us >= values["last_us"]:
            values["close"], values["last_us"] = t.price, t.time_us
    return dataclasses.replace(b, **values)


def window_stats(buckets: list[Bucket], now_us: int) -> DayStats:
    """The figures of the window ending at `now_us` from the buckets read for it (any
    order; those of other hours are passed over, the newest before the window gives the
    price 24 h ago)."""
    now_hour = hour_of(now_us)
    start = now_hour - WINDOW_HOURS + 1
    inside = sorted((b for b in buckets if start <= b.hour <= now_hour and b.trades), key=lambda b: b.hour)
    before = max((b for b in buckets if b.hour < start and b.trades), key=lambda b: b.hour, default=None)
    stats = DayStats()
    for b in inside:
        stats.high = b.high if stats.high is None else max(stats.high, b.high)
        stats.low = b.low if stats.low is None else min(stats.low, b.low)
        stats.base_volume += b.base_volume
        stats.quote_volume += b.quote_volume
        stats.trades += b.trades
    if inside:
        stats.price_24h, stats.last = inside[0].open, inside[-1].close
    if before is not None:
        stats.price_24h = before.close
        stats.last = stats.last if stats.last is not None else before.close
    return stats


def day_stats(market: Market, clock: Clock) -> DayStats:
    """The last 24 hours of a market: one Query of at most WINDOW_HOURS + 1 buckets (the
    window's, and when it has fewer, the newest before it for the price 24 h ago)."""
    now_us = clock.now_us()
    buckets = stores.market_stats().recent(market.id, hour_of(now_us), WINDOW_HOURS + 1)
    return window_stats(buckets, now_us)


def backfill_day_stats(market: Market, clock: Clock) -> list[int]:
    """Buckets for the hours in which the market traded before it had buckets (a stage
    upgraded from the per-match figures): the window's hours and the newest hour before it
    that traded, each summed from its completed matches. An hour that has a bucket is left
    as it is (a bucket made by a trade after the upgrade misses that hour's earlier trades).
    Operator tooling, not a request path: it reads every match of the window. Returns the
    hours written; running it again writes nothing."""
    from chalicelib.ledger import store

    now_us = clock.now_us()
    start_us = (hour_of(now_us) - WINDOW_HOURS + 1) * HOUR_US
    matches = stores.matches()
    completed = [m for m in matches.of_market(market.id, since_us=start_us) if m.status == "completed"]
    last_before = next((m for m in matches.of_market(market.id, before_us=start_us, newest_first=True)
                        if m.status == "completed"), None)
    if last_before is not None:
        hour = hour_of(last_before.time_us)
        completed += [m for m in matches.of_market(market.id, since_us=hour * HOUR_US, before_us=(hour + 1) * HOUR_US)
                      if m.status == "completed"]
    by_hour: dict[int, list[Match]] = {}
    for match in completed:
        by_hour.setdefault(hour_of(match.time_us), []).append(match)
    written = []
    for hour, found in sorted(by_hour.items()):
        if stores.market_stats().get(market.id, hour) is not None:
            continue
        trades = [trade_of(market, m) for m in sorted(found, key=lambda m: (m.time_us, m.id))]
        tx = stores.new_tx()
        stores.market_stats().stage_put(tx, add_trades(None, market.id, trades), None)
        try:
            tx.commit(f"backfill_stats:{market.id}:{hour}", "backfill_stats", market.id, now_us)
        except (store.StaleRead, store.AlreadyApplied):
            continue  # a trade (or another run) made the bucket meanwhile
        written.append(hour)
    return written


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
