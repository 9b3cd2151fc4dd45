"""The orders store: the order book's keys, its bounded reads and its conditional writes.

Keys. An order is `(market, tx_hash)`. While it is open it carries `book_key`, the sort
key of the `book` local index (strongly consistent reads):

* public orders: ``"B#"`` (buys) or ``"S#"`` (sells) + `matching.book_sort_key(price, ...)`,
  so each side sorts best first by the order's own asking price (get per give), then arrival;
* taker-restricted orders (0x ``taker``): ``"T#<taker>#B#..."`` / ``"T#<taker>#S#..."``,
  outside the public sides, so orders nobody else may fill never sit on top of the
  public book (they are read only for their taker, see `restricted_to`).

Reads project only the attributes the matcher needs (`BOOK_ATTRIBUTES`) and are parsed
straight from the wire format into frozen `BookEntry` values: no PynamoDB item is built
on the settlement path.

`DynamoOrderBook` and `MemoryOrderBook` pass the same contract tests
(`tests/contract/test_order_store.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Protocol

from chalicelib.ledger.matching import book_sort_key

SIDES = ("B", "S")
BOOK_ATTRIBUTES = (
    "market", "tx_hash", "tx_index", "source", "side", "give_asset", "give_quantity", "give_remaining",
    "get_asset", "get_quantity", "get_remaining", "expires_at", "taker", "cap", "expired_with", "book_key",
    "block_index", "expiration",
)
MAX_KEY_CHAR = "\U0010ffff"  # sorts after every character a key can hold


@dataclass(frozen=True)
class BookEntry:
    """An open order as the matcher and settlement see it."""

    market: str
    tx_hash: str
    tx_index: int
    source: str
    side: str  # "buy" | "sell"
    give_asset: str
    give_quantity: int
    give_remaining: int
    get_asset: str
    get_quantity: int
    get_remaining: int
    expires_at: int
    book_key: str
    taker: str | None = None
    cap: str = "give"
    expired_with: frozenset[str] = frozenset()
    block_index: int = 0
    expiration: int = 0

    @property
    def letter(self) -> str:
        return "B" if self.side == "buy" else "S"


def book_key(side: str, give_quantity: int, get_quantity: int, tx_index: int, tx_hash: str,
             taker: str | None = None) -> str:
    """The `book` index key of an open order (see the module docstring)."""
    letter = side[0].upper()
    key = f"{letter}#" + book_sort_key(Fraction(get_quantity, give_quantity), tx_index, tx_hash)
    return f"T#{taker}#{key}" if taker else key


def price_bound(letter: str, price: Fraction, prefix: str = "") -> str:
    """The largest key of side `letter` whose price part is <= `price`: every order of that
    side asking at most `price` has a key <= this (the key's price part is a truncation)."""
    exp, mantissa, _, _ = book_sort_key(price, 0, "").split(":")
    return f"{prefix}{letter}#{exp}:{mantissa}:{MAX_KEY_CHAR}"


@dataclass
class ReadStats:
    """What the book reads of this process cost (benchmarks and tests read it)."""

    round_trips: int = 0
    items: int = 0
    capacity: float = 0.0

    def reset(self) -> None:
        self.round_trips, self.items, self.capacity = 0, 0, 0.0


@dataclass
class Page:
    entries: list[BookEntry]
    more: bool  # the page is full (DynamoDB's LastEvaluatedKey): the range may hold more


class OrderBook(Protocol):
    stats: ReadStats

    def side(self, market: str, letter: str, *, limit: int, upper: str | None = None,
             after: str | None = None, prefix: str = "") -> Page: ...

    def restricted_to(self, market: str, taker: str, *, limit: int) -> Page: ...

    def restricted_from(self, market: str, start: str, *, limit: int) -> Page: ...

    def get(self, market: str, tx_hash: str) -> BookEntry | None: ...


# -- DynamoDB ------------------------------------------------------------------------------

def _s(value: dict | None) -> str | None:
    return None if value is None else value["S"]


def entry_from_item(item: dict[str, Any]) -> BookEntry:
    """A `BookEntry` from a DynamoDB item in wire format."""
    n = item
    return BookEntry(
        market=n["market"]["S"], tx_hash=n["tx_hash"]["S"], tx_index=int(n["tx_index"]["N"]),
        source=n["source"]["S"], side=n["side"]["S"],
        give_asset=n["give_asset"]["S"], give_quantity=int(n["give_quantity"]["N"]),
        give_remaining=int(n["give_remaining"]["N"]), get_asset=n["get_asset"]["S"],
        get_quantity=int(n["get_quantity"]["N"]), get_remaining=int(n["get_remaining"]["N"]),
        expires_at=int(n["expires_at"]["N"]), book_key=_s(n.get("book_key")) or "", taker=_s(n.get("taker")),
        cap=_s(n.get("cap")) or "give", expired_with=frozenset(n.get("expired_with", {}).get("SS", ())),
        block_index=int(n["block_index"]["N"]), expiration=int(n.get("expiration", {}).get("N", 0)),
    )


def item_of(entry: BookEntry, created_us: int = 0) -> dict[str, Any]:
    """An open order item in wire format (the `orders` table's `Order` shape)."""
    n = lambda v: {"N": str(v)}  # noqa: E731
    item = {
        "market": {"S": entry.market}, "tx_hash": {"S": entry.tx_hash}, "tx_index": n(entry.tx_index),
        "block_index": n(entry.block_index), "source": {"S": entry.source}, "side": {"S": entry.side},
        "give_asset": {"S": entry.give_asset}, "give_quantity": n(entry.give_quantity),
        "give_remaining": n(entry.give_remaining), "get_asset": {"S": entry.get_asset},
        "get_quantity": n(entry.get_quantity), "get_remaining": n(entry.get_remaining),
        "expiration": n(entry.expiration), "expire_index": n(0), "expires_at": n(entry.expires_at),
        "fee_required": n(0), "fee_required_remaining": n(0), "fee_provided": n(0), "fee_provided_remaining": n(0),
        "status": {"S": "open"}, "status_index": {"S": status_index("open", entry.tx_index)},
        "book_key": {"S": entry.book_key}, "open_expires_at": n(entry.expires_at),
        "dialect": {"S": "counterparty"}, "created_us": n(created_us), "updated_us": n(created_us),
    }
    if entry.taker:
        item["taker"] = {"S": entry.taker}
    if entry.cap != "give":
        item["cap"] = {"S": entry.cap}
    if entry.expired_with:
        item["expired_with"] = {"SS": sorted(entry.expired_with)}
    return item


_NAMES = {f"#a{i}": name for i, name in enumerate(BOOK_ATTRIBUTES)}
_PROJECTION = ", ".join(_NAMES)


class DynamoOrderBook:
    def __init__(self, client=None, table=None):
        self._client = client
        self._table = table
        self.stats = ReadStats()

    def _connection(self):
        if self._client is not None:
            return self._client
        from chalicelib.ledger import db

        return db.client()

    def _table_name(self) -> str:
        if self._table is not None:
            return self._table
        from chalicelib.ledger.models import Order

        return Order.Meta.table_name

    def _query(self, market: str, low: str, high: str, limit: int, after: str | None) -> Page:
        request: dict[str, Any] = {
            "TableName": self._table_name(), "IndexName": "book", "ConsistentRead": True, "Limit": limit,
            "KeyConditionExpression": "#a0 = :m AND #a15 BETWEEN :lo AND :hi",
            "ProjectionExpression": _PROJECTION, "ExpressionAttributeNames": _NAMES,
            "ExpressionAttributeValues": {":m": {"S": market}, ":lo": {"S": low}, ":hi": {"S": high}},
            "ReturnConsumedCapacity": "TOTAL",
        }
        if after is not None:
            request["ExclusiveStartKey"] = {"market": {"S": market}, "book_key": {"S": after},
                                            "tx_hash": {"S": after.rsplit(":", 1)[-1]}}
        response = self._connection().query(**request)
        entries = [entry_from_item(item) for item in response.get("Items", [])]
        self.stats.round_trips += 1
        self.stats.items += len(entries)
        self.stats.capacity += float((response.get("ConsumedCapacity") or {}).get("CapacityUnits", 0))
        return Page(entries, "LastEvaluatedKey" in response)

    def side(self, market: str, letter: str, *, limit: int, upper: str | None = None,
             after: str | None = None, prefix: str = "") -> Page:
        """Open orders of one side, best first, up to `limit`, keys in (`after`, `upper`]."""
        return self._query(market, f"{prefix}{letter}#", upper or f"{prefix}{letter}#{MAX_KEY_CHAR}", limit, after)

    def restricted_to(self, market: str, taker: str, *, limit: int) -> Page:
        """Open orders only `taker` may fill, both sides (buys first), best first."""
        return self._query(market, f"T#{taker}#", f"T#{taker}#{MAX_KEY_CHAR}", limit, None)

    def restricted_from(self, market: str, start: str, *, limit: int) -> Page:
        """Restricted orders of every taker, in key order from the taker `start` on."""
        return self._query(market, f"T#{start}", f"T#{MAX_KEY_CHAR}", limit, None)

    def add(self, entries: Iterable[BookEntry]) -> None:
        """Write open orders directly, 25 per BatchWriteItem (fixtures and benchmarks: no
        escrow is locked, so the ledger's placement path is `orders.place_order`)."""
        items = [{"PutRequest": {"Item": item_of(e)}} for e in entries]
        for start in range(0, len(items), 25):
            pending = {self._table_name(): items[start:start + 25]}
            while pending:
                pending = self._connection().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def get(self, market: str, tx_hash: str) -> BookEntry | None:
        """One open order, strongly consistent (None once it left the book)."""
        response = self._connection().get_item(
            TableName=self._table_name(), Key={"market": {"S": market}, "tx_hash": {"S": tx_hash}},
            ConsistentRead=True, ProjectionExpression=_PROJECTION, ExpressionAttributeNames=_NAMES)
        self.stats.round_trips += 1
        item = response.get("Item")
        if not item or "book_key" not in item:
            return None
        self.stats.items += 1
        return entry_from_item(item)


# -- in memory -----------------------------------------------------------------------------

@dataclass
class MemoryOrderBook:
    """The same book in a dict: for pure-rule tests and as the contract's reference."""

    orders: dict[tuple[str, str], BookEntry] = field(default_factory=dict)
    stats: ReadStats = field(default_factory=ReadStats)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, entries: Iterable[BookEntry]) -> None:
        with self._lock:
            for entry in entries:
                self.orders[(entry.market, entry.tx_hash)] = entry

    def remove(self, market: str, tx_hash: str) -> None:
        with self._lock:
            self.orders.pop((market, tx_hash), None)

    def set_remaining(self, market: str, tx_hash: str, give_remaining: int, get_remaining: int) -> None:
        with self._lock:
            key = (market, tx_hash)
            self.orders[key] = replace(self.orders[key], give_remaining=give_remaining, get_remaining=get_remaining)

    def _range(self, market: str, low: str, high: str, limit: int, after: str | None) -> Page:
        with self._lock:
            found = sorted((e for (m, _), e in self.orders.items()
                            if m == market and low <= e.book_key <= high and (after is None or e.book_key > after)),
                           key=lambda e: e.book_key)
        self.stats.round_trips += 1
        self.stats.items += min(limit, len(found))
        return Page(found[:limit], len(found) >= limit)  # as DynamoDB: a full page says "maybe more"

    def side(self, market: str, letter: str, *, limit: int, upper: str | None = None,
             after: str | None = None, prefix: str = "") -> Page:
        return self._range(market, f"{prefix}{letter}#", upper or f"{prefix}{letter}#{MAX_KEY_CHAR}", limit, after)

    def restricted_to(self, market: str, taker: str, *, limit: int) -> Page:
        return self._range(market, f"T#{taker}#", f"T#{taker}#{MAX_KEY_CHAR}", limit, None)

    def restricted_from(self, market: str, start: str, *, limit: int) -> Page:
        return self._range(market, f"T#{start}", f"T#{MAX_KEY_CHAR}", limit, None)

    def get(self, market: str, tx_hash: str) -> BookEntry | None:
        self.stats.round_trips += 1
        with self._lock:
            return self.orders.get((market, tx_hash))


# -- writes (items of a settling transaction) ----------------------------------------------

def status_index(status: str, tx_index: int) -> str:
    return f"{status}#{tx_index:020d}"


def remaining_update(entry: BookEntry, give_left: int, get_left: int, now_us: int,
                     close_as: str | None = None) -> dict[str, Any]:
    """The Update of an order a settlement changed, conditioned on what was read (still open,
    same `give_remaining`); `close_as` ("filled" | "cancelled") takes it off the book."""
    from chalicelib.ledger.models import Order

    names = {"#g": "give_remaining", "#r": "get_remaining", "#u": "updated_us", "#s": "status"}
    values: dict[str, Any] = {":g": {"N": str(give_left)}, ":r": {"N": str(get_left)}, ":u": {"N": str(now_us)},
                              ":open": {"S": "open"}, ":was": {"N": str(entry.give_remaining)}}
    expression = "SET #g = :g, #r = :r, #u = :u"
    if close_as is not None:
        names.update({"#i": "status_index", "#b": "book_key", "#e": "open_expires_at"})
        values.update({":s": {"S": close_as}, ":i": {"S": status_index(close_as, entry.tx_index)}})
        expression += ", #s = :s, #i = :i REMOVE #b, #e"
    return {
        "TableName": Order.Meta.table_name,
        "Key": {"market": {"S": entry.market}, "tx_hash": {"S": entry.tx_hash}},
        "UpdateExpression": expression, "ConditionExpression": "#s = :open AND #g = :was",
        "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
    }
