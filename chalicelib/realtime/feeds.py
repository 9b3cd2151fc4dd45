"""The publisher's per-market state (table `feeds`, through `stores.feeds()`).

One item per market holds the book as last published (price levels in base units) and two
durable sequence numbers: `book_seq` (+1 per published book change) and `trade_seq` (+1 per
published trade). A publication commits before it is sent, in one TransactWriteItems that
conditions on the sequence numbers it read, and puts one marker per published match with
`attribute_not_exists`: a redelivered or concurrent stream batch either finds nothing new
(the book equals what was published, the markers exist) or fails its condition and reads
again. So each change gets exactly one sequence number, and the numbers have no gaps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction

from chalicelib.ledger import stores
from chalicelib.ledger.stores.feeds import Conflict as Conflict  # raised by `commit`
from chalicelib.ledger.stores.feeds import FeedState

MARKER_TTL_SECONDS = 7 * 86_400  # longer than a stream record lives (24 h) and its retries
MAX_MARKERS_PER_COMMIT = 90  # TransactWriteItems takes 100 items

Levels = dict[str, list[tuple[Fraction, int]]]  # {"bids": [(price, base amount)], "asks": [...]}, best first


@dataclass(frozen=True)
class MarketFeed:
    market: str
    book_seq: int
    trade_seq: int
    levels: Levels
    exists: bool


def encode_levels(levels: Levels) -> str:
    return json.dumps({side: [[f"{p.numerator}/{p.denominator}", amount] for p, amount in levels.get(side, [])]
                       for side in ("bids", "asks")}, separators=(",", ":"))


def decode_levels(text: str | None) -> Levels:
    raw = json.loads(text) if text else {}
    return {side: [(Fraction(p), int(amount)) for p, amount in raw.get(side, [])] for side in ("bids", "asks")}


def read(market: str) -> MarketFeed:
    state = stores.feeds().get(market)
    if state is None:
        return MarketFeed(market, 0, 0, {"bids": [], "asks": []}, exists=False)
    return MarketFeed(market, state.book_seq, state.trade_seq, decode_levels(state.levels), exists=True)


def commit(feed: MarketFeed, levels: Levels | None, match_ids: list[str], now: int) -> None:
    """Publish a new book (`levels`, or None: unchanged) and trades `match_ids` (their numbers
    follow `feed.trade_seq` in this order). Raises Conflict if anyone published since `feed`."""
    if len(match_ids) > MAX_MARKERS_PER_COMMIT:
        raise ValueError(f"at most {MAX_MARKERS_PER_COMMIT} trades per commit")
    read_state = FeedState(feed.market, feed.book_seq, feed.trade_seq) if feed.exists else None
    new = FeedState(feed.market, feed.book_seq + (levels is not None), feed.trade_seq + len(match_ids),
                    None if levels is None else encode_levels(levels))
    stores.feeds().commit(read_state, new, match_ids, now + MARKER_TTL_SECONDS)
