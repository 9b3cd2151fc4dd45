"""The feeds table: the realtime publisher's state per market, and one marker per
published match.

Keys: `key` = "market#<id>" (the book as last published, as JSON, and the `book_seq` and
`trade_seq` sequence numbers) or "trade#<match id>" (a marker, TTL'd by `expires_at`). A
publication is one TransactWriteItems: the market item's update conditioned on the
sequence numbers read (or on its absence) and a Put `attribute_not_exists` per marker;
any failed condition cancels all of it (`Conflict`, naming the markers that existed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.ledger.stores.memory import MemoryLedger


@dataclass(frozen=True)
class FeedState:
    market: str
    book_seq: int = 0
    trade_seq: int = 0
    levels: str | None = None  # JSON, as published (`realtime.feeds.encode_levels`)


class Conflict(Exception):
    """Another publisher committed first (its sequence numbers moved): read again."""

    def __init__(self, published: set[str]):
        super().__init__(f"{len(published)} trades already published")
        self.published = published  # match ids whose marker was already there


class FeedStore(Protocol):
    def get(self, market: str) -> FeedState | None:
        """Strongly consistent; None before the market's first publication."""

    def commit(self, read: FeedState | None, new: FeedState, match_ids: list[str], marker_expires_at: int) -> None:
        """Write `new` (its `levels` None: unchanged) if the market is still as `read` (None:
        absent), with one marker per match id; all or nothing, else `Conflict`."""


class DynamoFeeds:
    def __init__(self):
        from chalicelib.ledger.models import Feed

        self._model = Feed

    def get(self, market: str) -> FeedState | None:
        try:
            item = self._model.get(f"market#{market}", consistent_read=True)
        except self._model.DoesNotExist:
            return None
        return FeedState(market, int(item.book_seq), int(item.trade_seq), item.levels)

    def commit(self, read: FeedState | None, new: FeedState, match_ids: list[str], marker_expires_at: int) -> None:
        from botocore.exceptions import ClientError

        from chalicelib.ledger import db

        feed = self._model
        item = feed(f"market#{new.market}")
        actions = [feed.trade_seq.set(new.trade_seq), feed.book_seq.set(new.book_seq)]
        if new.levels is not None:
            actions.append(feed.levels.set(new.levels))
        if read is not None:
            condition = (feed.book_seq == read.book_seq) & (feed.trade_seq == read.trade_seq)
        else:
            condition = feed.key.does_not_exist()
        requests = [{"Update": _strip(item.get_update_kwargs_from_instance(
            actions=actions, condition=condition, add_version_condition=False))}]
        for match_id in match_ids:
            marker = feed(f"trade#{match_id}", expires_at=marker_expires_at)
            requests.append({"Put": _strip(marker.get_save_kwargs_from_instance(condition=feed.key.does_not_exist()))})
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
    # PynamoDB adds keys TransactWriteItems does not take.
    request.pop("ReturnValues", None)
    request.pop("ReturnConsumedCapacity", None)
    return request


class MemoryFeeds:
    def __init__(self, ledger: MemoryLedger):
        self._ledger = ledger
        self._markets: dict[str, FeedState] = {}
        self._markers: dict[str, int] = {}  # match id -> expires_at

    def get(self, market: str) -> FeedState | None:
        with self._ledger.lock:
            return self._markets.get(market)

    def commit(self, read: FeedState | None, new: FeedState, match_ids: list[str], marker_expires_at: int) -> None:
        with self._ledger.lock:
            current = self._markets.get(new.market)
            published = {m for m in match_ids if m in self._markers}
            moved = (current is not None) if read is None else (
                current is None or (current.book_seq, current.trade_seq) != (read.book_seq, read.trade_seq))
            if moved or published:
                raise Conflict(published)
            levels = new.levels if new.levels is not None else (current.levels if current else None)
            self._markets[new.market] = FeedState(new.market, new.book_seq, new.trade_seq, levels)
            for match_id in match_ids:
                self._markers[match_id] = marker_expires_at
