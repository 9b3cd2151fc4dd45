"""What a channel's subscriber gets first, and the market state the publisher compares.

Read models only (by key or Query): the book's price levels, the feed's sequence numbers,
the last trades, the day's figures, an account's open orders, SRA's signed-order book.
"""

from __future__ import annotations

from fractions import Fraction

from chalicelib.ledger import stores, tokens
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.market_data import LEVEL_PAGE, LevelSum, day_stats, read_levels
from chalicelib.ledger.stores.orders import BookEntry
from chalicelib.ledger.tokens import TokenMarket
from chalicelib.realtime import channels, feeds

BOOK_DEPTH = 50  # price levels per side, published and kept in the feed
SMALL_BOOK = 2 * LEVEL_PAGE  # open orders (both sides, restricted ones too) read in one Query


def live_levels(market_id: str) -> feeds.Levels:
    """The book's top levels: one consistent, projected Query of the `book` index for both sides
    while the book is small (the usual case), else a bounded level read per side
    (`market_data.read_levels`: it stops once BOOK_DEPTH levels are complete)."""
    orders = stores.orders()
    found = orders.whole_book(market_id, limit=SMALL_BOOK)
    if found.more:
        return {"bids": read_levels(orders, market_id, "buy", BOOK_DEPTH),
                "asks": read_levels(orders, market_id, "sell", BOOK_DEPTH)}
    return {"bids": levels_of(found.entries, "buy"), "asks": levels_of(found.entries, "sell")}


def levels_of(entries: list[BookEntry], side: str) -> list[tuple[Fraction, int]]:
    """The top BOOK_DEPTH levels of one public side from the whole book's entries in key order
    (taker-restricted orders, keyed ``T#``, are not on the public book)."""
    prefix = "B#" if side == "buy" else "S#"
    summed = LevelSum(side, BOOK_DEPTH)
    for entry in entries:
        if entry.book_key.startswith(prefix) and not summed.add(entry):
            break
    return summed.levels()


def published_feed(market_id: str, now: int) -> feeds.MarketFeed:
    """The market's feed; a market never published yet gets its first book now (seq 1)."""
    for _ in range(5):
        feed = feeds.read(market_id)
        if feed.exists:
            return feed
        try:
            feeds.commit(feed, live_levels(market_id), [], now)
        except feeds.Conflict:
            continue
    return feeds.read(market_id)


def book(tm: TokenMarket, now: int) -> dict:
    feed = published_feed(tm.market.id, now)
    return {"market": tm.market.id, "seq": feed.book_seq, "bids": channels.levels_view(tm, feed.levels["bids"]),
            "asks": channels.levels_view(tm, feed.levels["asks"])}


def recent_trades(tm: TokenMarket, limit: int = channels.RECENT_TRADES) -> list[dict]:
    found = stores.matches().of_market(tm.market.id, newest_first=True, limit=limit)
    return [channels.trade_view(tm, m) for m in found if m.status != "expired"]


def trades(tm: TokenMarket, now: int) -> dict:
    feed = published_feed(tm.market.id, now)
    return {"market": tm.market.id, "seq": feed.trade_seq, "trades": recent_trades(tm)}


def ticker(tm: TokenMarket, clock: Clock, levels: feeds.Levels | None = None) -> dict:
    if levels is None:
        levels = published_feed(tm.market.id, int(clock.now())).levels
    return channels.ticker_view(tm, day_stats(tm.market, clock), levels, clock.now_us())


def open_orders(account: str) -> list[dict]:
    views: dict[str, TokenMarket] = {}
    rows = []
    for order in tokens.open_orders_of(account):
        if order.market not in views:
            views[order.market] = market_view(order.market)
        rows.append(channels.order_view(views[order.market], order))
    return rows


def market_view(market_id: str) -> TokenMarket:
    from chalicelib.ledger.markets import get_market

    return tokens.token_market(get_market(market_id))
