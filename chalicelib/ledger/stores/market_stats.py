"""The market_stats table: per market, one item per hour of its completed trades.

Keys: `market` (hash) and `hour` (range, unix time // 3600). An hour's item holds what the
24 h figures of every dialect's ticker are summed from: trade count, base and quote
volume, the open (price of its first trade), close (of its last), high and low, and the
times of the first and last trade. It is written in the transaction that completes its
trades (a settlement commit, or the payment of a pending match), from the item read
before, on condition that the item is still the one read (`version`): two writers never
both add to one read, and a retried or redelivered commit either committed whole or
not at all. The figures of a window are one Query: the newest `count` hours up to the
current one (`recent`), so a ticker costs the same however many trades there were.

Volumes are kept as decimal strings (a sum of amounts may pass DynamoDB's 38 digits,
and a settlement must never fail on what someone traded); prices as exact "n/d".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

from chalicelib.ledger import db, store
from chalicelib.ledger.stores.memory import MemoryLedger, MemoryTx


@dataclass(frozen=True)
class Bucket:
    """One hour of one market's completed trades (`trades` == 0: nothing yet)."""

    market: str
    hour: int
    trades: int = 0
    base_volume: int = 0
    quote_volume: int = 0
    open: Fraction | None = None
    close: Fraction | None = None
    high: Fraction | None = None
    low: Fraction | None = None
    first_us: int = 0
    last_us: int = 0
    version: int = 0  # writes so far; the next write conditions on it


class MarketStatsStore(Protocol):
    items_read: int  # items its reads returned so far (what a ticker costs, for tests and benchmarks)

    def get(self, market_id: str, hour: int) -> Bucket | None:
        """The hour's bucket (strongly consistent), or None when nothing traded in it."""

    def recent(self, market_id: str, up_to_hour: int, count: int) -> list[Bucket]:
        """The newest `count` buckets with `hour <= up_to_hour`, newest first (one Query)."""

    def stage_put(self, tx: Any, bucket: Bucket, read: Bucket | None) -> None:
        """Add to `tx` the write of `bucket` (its `version` the one read + 1), on condition
        that the stored one is still `read` (absent when `read` is None); else the commit
        raises `store.StaleRead`."""


def _next_version(bucket: Bucket, read: Bucket | None) -> Bucket:
    return dataclasses.replace(bucket, version=(read.version if read is not None else 0) + 1)


def _fraction(text: str | None) -> Fraction | None:
    return None if text is None else Fraction(text)


def _text(value: Fraction | None) -> str | None:
    return None if value is None else f"{value.numerator}/{value.denominator}"


# -- DynamoDB -------------------------------------------------------------------------------

_PRICES = ("open", "close", "high", "low")


def _item(bucket: Bucket) -> dict[str, Any]:
    item: dict[str, Any] = {
        "market": {"S": bucket.market}, "hour": {"N": str(bucket.hour)}, "version": {"N": str(bucket.version)},
        "trades": {"N": str(bucket.trades)}, "base_volume": {"S": str(bucket.base_volume)},
        "quote_volume": {"S": str(bucket.quote_volume)},
        "first_us": {"N": str(bucket.first_us)}, "last_us": {"N": str(bucket.last_us)},
    }
    for name in _PRICES:
        value = _text(getattr(bucket, name))
        if value is not None:
            item[name] = {"S": value}
    return item


def _bucket(item: dict[str, Any]) -> Bucket:
    return Bucket(
        market=item["market"]["S"], hour=int(item["hour"]["N"]), version=int(item["version"]["N"]),
        trades=int(item["trades"]["N"]), base_volume=int(item["base_volume"]["S"]),
        quote_volume=int(item["quote_volume"]["S"]), first_us=int(item["first_us"]["N"]),
        last_us=int(item["last_us"]["N"]), **{name: _fraction(item.get(name, {}).get("S")) for name in _PRICES})


class DynamoMarketStats:
    def __init__(self) -> None:
        self.items_read = 0

    @staticmethod
    def _table() -> str:
        from chalicelib.ledger.models import MarketStat

        return MarketStat.Meta.table_name

    def get(self, market_id: str, hour: int) -> Bucket | None:
        if not db.is_key(market_id):
            return None
        response = db.client().get_item(TableName=self._table(), ConsistentRead=True,
                                        Key={"market": {"S": market_id}, "hour": {"N": str(hour)}})
        item = response.get("Item")
        self.items_read += 1 if item else 0
        return _bucket(item) if item else None

    def recent(self, market_id: str, up_to_hour: int, count: int) -> list[Bucket]:
        if not db.is_key(market_id) or count <= 0:
            return []
        response = db.client().query(
            TableName=self._table(), KeyConditionExpression="#m = :m AND #h <= :h",
            ExpressionAttributeNames={"#m": "market", "#h": "hour"},
            ExpressionAttributeValues={":m": {"S": market_id}, ":h": {"N": str(up_to_hour)}},
            ScanIndexForward=False, Limit=count, ConsistentRead=True)
        items = response.get("Items", [])
        self.items_read += len(items)
        return [_bucket(item) for item in items]

    def stage_put(self, tx: store.Tx, bucket: Bucket, read: Bucket | None) -> None:
        request: dict[str, Any] = {"TableName": self._table(), "Item": _item(_next_version(bucket, read))}
        if read is None:
            request["ConditionExpression"] = "attribute_not_exists(#m)"
            request["ExpressionAttributeNames"] = {"#m": "market"}
        else:
            request["ConditionExpression"] = "#v = :v"
            request["ExpressionAttributeNames"] = {"#v": "version"}
            request["ExpressionAttributeValues"] = {":v": {"N": str(read.version)}}
        tx.raw("Put", request, on_fail=store.StaleRead(f"stats of {bucket.market} hour {bucket.hour} moved"))


# -- in memory ------------------------------------------------------------------------------

class MemoryMarketStats:
    def __init__(self, ledger: MemoryLedger):
        self._ledger = ledger
        self._buckets: dict[tuple[str, int], Bucket] = {}
        self.items_read = 0

    def get(self, market_id: str, hour: int) -> Bucket | None:
        with self._ledger.lock:
            found = self._buckets.get((market_id, hour))
            self.items_read += 1 if found else 0
            return found

    def recent(self, market_id: str, up_to_hour: int, count: int) -> list[Bucket]:
        with self._ledger.lock:
            hours = sorted((h for m, h in self._buckets if m == market_id and h <= up_to_hour), reverse=True)
            found = [self._buckets[(market_id, h)] for h in hours[:max(count, 0)]]
            self.items_read += len(found)
            return found

    def stage_put(self, tx: MemoryTx, bucket: Bucket, read: Bucket | None) -> None:
        key = (bucket.market, bucket.hour)

        def check() -> Exception | None:
            current = self._buckets.get(key)
            if (current is None) != (read is None) or (current is not None and current.version != read.version):
                return store.StaleRead(f"stats of {bucket.market} hour {bucket.hour} moved")
            return None

        def apply() -> None:
            self._buckets[key] = _next_version(bucket, read)

        tx.stage(check, apply)
