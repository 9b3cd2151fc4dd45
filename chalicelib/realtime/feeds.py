"""The store of the publisher's per-market state (table `feeds`).

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

from botocore.exceptions import ClientError

from chalicelib.ledger import db
from chalicelib.ledger.models import Feed

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


class Conflict(Exception):
    """Another publisher committed first (its sequence numbers moved): read again."""

    def __init__(self, published: set[str]):
        super().__init__(f"{len(published)} trades already published")
        self.published = published  # match ids whose marker was already there


def encode_levels(levels: Levels) -> str:
    return json.dumps({side: [[f"{p.numerator}/{p.denominator}", amount] for p, amount in levels.get(side, [])]
                       for side in ("bids", "asks")}, separators=(",", ":"))


def decode_levels(text: str | None) -> Levels:
    raw = json.loads(text) if text else {}
    return {side: [(Fraction(p), int(amount)) for p, amount in raw.get(side, [])] for side in ("bids", "asks")}


def read(market: str) -> MarketFeed:
    try:
        item = Feed.get(f"market#{market}", consistent_read=True)
    except Feed.DoesNotExist:
        return MarketFeed(market, 0, 0, {"bids": [], "asks": []}, exists=False)
    return MarketFeed(market, int(item.book_seq), int(item.trade_seq), decode_levels(item.levels), exists=True)


def commit(feed: MarketFeed, levels: Levels | None, match_ids: list[str], now: int) -> None:
    """Publish a new book (`levels`, or None: unchanged) and trades `match_ids` (their numbers
    follow `feed.trade_seq` in this order). Raises Conflict if anyone published since `feed`."""
    if len(match_ids) > MAX_MARKERS_PER_COMMIT:
        raise ValueError(f"at most {MAX_MARKERS_PER_COMMIT} trades per commit")
    item = Feed(f"market#{feed.market}", book_seq=feed.book_seq, trade_seq=feed.trade_seq)
    actions = [Feed.trade_seq.set(feed.trade_seq + len(match_ids))]
    if levels is not None:
        actions += [Feed.book_seq.set(feed.book_seq + 1), Feed.levels.set(encode_levels(levels))]
    if feed.exists:
        condition = (Feed.book_seq == feed.book_seq) & (Feed.trade_seq == feed.trade_seq)
    else:
        condition = Feed.key.does_not_exist()
    requests = [{"Update": _strip(item.get_update_kwargs_from_instance(
        actions=actions, condition=condition, add_version_condition=False))}]
    for match_id in match_ids:
        marker = Feed(f"trade#{match_id}", expires_at=now + MARKER_TTL_SECONDS)
        requests.append({"Put": _strip(marker.get_save_kwargs_from_instance(condition=Feed.key.does_not_exist()))})
    try:
        db.client().transact_write_items(TransactItems=requests)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        reasons = error.response.get("CancellationReasons") or []
        published = {match_ids[i - 1] for i, reason in enumerate(reasons)
                     if i > 0 and reason.get("Code") == "ConditionalCheckFailed"}
        raise Conflict(published) from error


def _strip(request: dict) -> dict:
    request.pop("ReturnValues", None)
    request.pop("ReturnConsumedCapacity", None)
    return request
