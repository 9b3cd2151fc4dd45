"""The orders store: the orders table's keys, indexes, reads and conditional writes.

Domain types. `BookEntry` is an open order as settlement reads it: the matcher's own
`matching.BookOrder` (so the matcher takes it as it is) plus what settling needs; `Order`
is the whole stored order, a `BookEntry` plus its lifecycle fields. Nothing outside this
module sees a PynamoDB item.

Keys. An order is `(market, tx_hash)`. While it is open it carries `book_key`, the sort
key of the `book` local index (strongly consistent reads):

* public orders: ``"B#"`` (buys) or ``"S#"`` (sells) + `matching.book_sort_key(price, ...)`,
  so each side sorts best first by the order's own asking price (get per give), then arrival;
* taker-restricted orders (0x ``taker``): ``"T#<taker>#B#..."`` / ``"T#<taker>#S#..."``,
  outside the public sides, so orders nobody else may fill never sit on top of the
  public book (they are read only for their taker, see `restricted_to`).

Other indexes: `open_expiry` (market, `open_expires_at`: present only while open), `by_hash`,
`by_source` (owner, arrival), `open_by_source` (owner, `book_key`: sparse, open orders only),
`by_give_asset` / `by_get_asset` (asset, `status_index` = f"{status}#{tx_index:020d}"),
`by_taker` (sparse: 0x orders only one address may fill).

Settlement's reads project only the attributes the matcher needs (`BOOK_ATTRIBUTES`) and
are parsed straight from the wire format into frozen `BookEntry` values; its writes are
wire-format Updates conditioned on what was read (`stage_fill`).

`DynamoOrders` and `MemoryOrders` pass the same contract tests
(`tests/contract/test_order_store.py`).
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Protocol

from chalicelib.ledger import db, paging, store
from chalicelib.ledger.matching import BookOrder, book_sort_key
from chalicelib.ledger.models import Order as OrderItem

SIDES = ("B", "S")
BOOK_ATTRIBUTES = (
    "market", "tx_hash", "tx_index", "source", "side", "give_asset", "give_quantity", "give_remaining",
    "get_asset", "get_quantity", "get_remaining", "expires_at", "taker", "cap", "expired_with", "book_key",
    "block_index", "expiration",
)
MAX_KEY_CHAR = "\U0010ffff"  # sorts after every character a key can hold
STATUSES = ("open", "filled", "cancelled", "expired")


@dataclass(frozen=True, kw_only=True)
class BookEntry(BookOrder):
    """An open order as the matcher and settlement see it (a `BookOrder` and more)."""

    market: str
    side: str  # "buy" | "sell" of the market's base asset
    expires_at: int  # unix seconds; the earlier of the block and time expiries
    book_key: str | None = None  # present only while open: the `book` index key
    expired_with: frozenset[str] = frozenset()  # orders whose match with this one expired unpaid
    block_index: int = 0
    expiration: int = 0  # blocks

    @property
    def letter(self) -> str:
        return "B" if self.side == "buy" else "S"


@dataclass(frozen=True, kw_only=True)
class Order(BookEntry):
    """An order as stored, whatever its status."""

    expire_index: int = 0
    fee_required: int = 0
    fee_required_remaining: int = 0
    fee_provided: int = 0
    fee_provided_remaining: int = 0
    status: str = "open"  # open | filled | cancelled | expired
    open_expires_at: int | None = None  # present only while open: the expiry index
    dialect: str = "counterparty"
    # 0x: the whole signed order as submitted (a dict: left out of the hash, so an Order hashes)
    signed_order: Mapping[str, str] | None = field(default=None, hash=False)
    created_us: int = 0
    updated_us: int = 0

    @property
    def status_index(self) -> str:
        return status_index(self.status, self.tx_index)


ENTRY_FIELDS = tuple(f.name for f in dataclasses.fields(BookEntry))
ORDER_FIELDS = tuple(f.name for f in dataclasses.fields(Order))


def as_entry(order: Order) -> BookEntry:
    """The book's view of an order (what a projected read returns)."""
    return BookEntry(**{name: getattr(order, name) for name in ENTRY_FIELDS})


def as_order(entry: BookEntry) -> Order:
    """An open order with the fields of `entry` (fixtures: `add` writes entries whole)."""
    if isinstance(entry, Order):
        return entry
    return Order(**{name: getattr(entry, name) for name in ENTRY_FIELDS}, status="open",
                 open_expires_at=entry.expires_at)


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


def status_index(status: str, tx_index: int) -> str:
    return f"{status}#{tx_index:020d}"


def reopened(order: Order, **changes: Any) -> Order:
    """`order` back on the book (its key and expiry index restored), with `changes`."""
    return replace(order, status="open", open_expires_at=order.expires_at, **changes,
                   book_key=book_key(order.side, order.give_quantity, order.get_quantity, order.tx_index,
                                     order.tx_hash, order.taker))


def closed(order: Order, status: str, now_us: int, **changes: Any) -> Order:
    """`order` off the book as `status`, with `changes`."""
    return replace(order, status=status, book_key=None, open_expires_at=None, updated_us=now_us, **changes)


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


class OrderStore(Protocol):
    stats: ReadStats

    # -- the book, projected (settlement) ---------------------------------------------------
    def side(self, market: str, letter: str, *, limit: int, upper: str | None = None,
             after: str | None = None, prefix: str = "") -> Page:
        """Open orders of one side, best first, up to `limit`, keys in (`after`, `upper`]."""

    def restricted_to(self, market: str, taker: str, *, limit: int) -> Page:
        """Open orders only `taker` may fill, both sides (buys first), best first."""

    def restricted_from(self, market: str, start: str, *, limit: int) -> Page:
        """Restricted orders of every taker, in key order from the taker `start` on."""

    def whole_book(self, market: str, *, limit: int) -> Page:
        """Every open order of the market (public sides, then restricted), in key order."""

    def own_side(self, source: str, market: str, letter: str, bound: str, *, limit: int) -> list[BookEntry]:
        """`source`'s public open orders of one side of `market` with keys up to `bound`
        (eventually consistent: a settlement conditions on every value it read)."""

    def add(self, entries: Iterable[BookEntry]) -> None:
        """Write open orders directly (fixtures and benchmarks: no escrow is locked; the
        ledger's placement path is `orders.place_order`)."""

    # -- whole orders -------------------------------------------------------------------------
    def get(self, market: str, tx_hash: str) -> Order | None:
        """One order, strongly consistent."""

    def find(self, tx_hash: str) -> Order | None:
        """One order by hash alone (the `by_hash` index: eventually consistent)."""

    def get_many(self, keys: list[tuple[str, str]]) -> list[Order]:
        """The orders of these (market, tx_hash) keys that exist, strongly consistent."""

    def due_to_expire(self, market: str, now: float, *, limit: int) -> list[Order]:
        """Open orders of `market` whose `expires_at` <= `now`, soonest first."""

    def of_asset(self, asset: str, status: str, *, limit: int) -> list[Order]:
        """Up to `limit` orders giving, and up to `limit` getting, `asset` with `status`, each
        list newest first (the caller merges)."""

    def open_side(self, market: str, letter: str, *, restricted: bool = False, signed_only: bool = False,
                  limit: int | None = None) -> Iterator[Order]:
        """One side's open orders, best first, read lazily (at most `limit`); `restricted`: those
        of the taker-restricted space (every taker, key order); `signed_only`: 0x orders only."""

    def open_of_source(self, source: str, *, market: str | None = None, limit: int | None = None
                       ) -> Iterator[Order]:
        """An owner's open orders (buys then sells, each best first), optionally one market's."""

    def of_source(self, source: str) -> Iterator[Order]:
        """An owner's orders of every status, newest first."""

    def for_taker(self, taker: str) -> Iterator[Order]:
        """Orders only `taker` may fill, newest first."""

    def page_of_source(self, source: str, limit: int, cursor: str | None,
                       keep: Callable[[Order], bool]) -> paging.Page[Order]: ...

    def page_open_of_source(self, source: str, limit: int, cursor: str | None) -> paging.Page[Order]: ...

    def page_book(self, market: str, limit: int, cursor: str | None,
                  keep: Callable[[Order], bool] = lambda _o: True) -> paging.Page[Order]: ...

    def every(self, page_size: int) -> Iterator[Order]:
        """Every order (a Scan: the operator's audit only, never a request path)."""

    # -- writes (staged on a transaction) -----------------------------------------------------
    def stage_place(self, tx: Any, order: Order) -> None:
        """Put a new order; the commit raises `store.AlreadyApplied` if its key exists."""

    def stage_change(self, tx: Any, before: Order, after: Order) -> None:
        """Write `after` over the order read as `before`, on condition that its status and
        `give_remaining` are still those read (else the commit raises `store.StaleRead`);
        orders named in `after.expired_with` are added to what the item holds."""

    def stage_fill(self, tx: Any, entry: BookEntry, give_left: int, get_left: int, now_us: int,
                   close_as: str | None = None) -> None:
        """A settlement's change of an open order: its remainders, and with `close_as`
        ("filled" | "cancelled") off the book; conditioned on what was read."""


# -- DynamoDB ------------------------------------------------------------------------------

def _s(value: dict | None) -> str | None:
    return None if value is None else value["S"]


def entry_from_item(item: dict[str, Any]) -> BookEntry:
    """A `BookEntry` from a DynamoDB item in wire format."""
    n = item
    return BookEntry(
        tx_hash=n["tx_hash"]["S"], tx_index=int(n["tx_index"]["N"]), source=n["source"]["S"],
        give_asset=n["give_asset"]["S"], give_quantity=int(n["give_quantity"]["N"]),
        give_remaining=int(n["give_remaining"]["N"]), get_asset=n["get_asset"]["S"],
        get_quantity=int(n["get_quantity"]["N"]), get_remaining=int(n["get_remaining"]["N"]),
        taker=_s(n.get("taker")), cap=_s(n.get("cap")) or "give",
        market=n["market"]["S"], side=n["side"]["S"], expires_at=int(n["expires_at"]["N"]),
        book_key=_s(n.get("book_key")), expired_with=frozenset(n.get("expired_with", {}).get("SS", ())),
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


def table_name() -> str:
    return OrderItem.Meta.table_name


def remaining_update(entry: BookEntry, give_left: int, get_left: int, now_us: int,
                     close_as: str | None = None) -> dict[str, Any]:
    """The Update of an order a settlement changed, conditioned on what was read (still open,
    same `give_remaining`); `close_as` ("filled" | "cancelled") takes it off the book."""
    names = {"#g": "give_remaining", "#r": "get_remaining", "#u": "updated_us", "#s": "status"}
    values: dict[str, Any] = {":g": {"N": str(give_left)}, ":r": {"N": str(get_left)}, ":u": {"N": str(now_us)},
                              ":open": {"S": "open"}, ":was": {"N": str(entry.give_remaining)}}
    expression = "SET #g = :g, #r = :r, #u = :u"
    if close_as is not None:
        names.update({"#i": "status_index", "#b": "book_key", "#e": "open_expires_at"})
        values.update({":s": {"S": close_as}, ":i": {"S": status_index(close_as, entry.tx_index)}})
        expression += ", #s = :s, #i = :i REMOVE #b, #e"
    return {
        "TableName": table_name(),
        "Key": {"market": {"S": entry.market}, "tx_hash": {"S": entry.tx_hash}},
        "UpdateExpression": expression, "ConditionExpression": "#s = :open AND #g = :was",
        "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
    }


_NAMES = {f"#a{i}": name for i, name in enumerate(BOOK_ATTRIBUTES)}
_PROJECTION = ", ".join(_NAMES)


def _domain(item) -> Order:
    """An `Order` of a PynamoDB item."""
    signed = item.signed_order
    if signed is not None:
        signed = dict(signed.as_dict()) if hasattr(signed, "as_dict") else dict(signed)
    return Order(
        tx_hash=item.tx_hash, tx_index=int(item.tx_index), source=item.source,
        give_asset=item.give_asset, give_quantity=int(item.give_quantity), give_remaining=int(item.give_remaining),
        get_asset=item.get_asset, get_quantity=int(item.get_quantity), get_remaining=int(item.get_remaining),
        taker=item.taker, cap=item.cap or "give", market=item.market, side=item.side,
        expires_at=int(item.expires_at or 0), book_key=item.book_key,
        expired_with=frozenset(item.expired_with or ()), block_index=int(item.block_index),
        expiration=int(item.expiration or 0), expire_index=int(item.expire_index or 0),
        fee_required=int(item.fee_required or 0), fee_required_remaining=int(item.fee_required_remaining or 0),
        fee_provided=int(item.fee_provided or 0), fee_provided_remaining=int(item.fee_provided_remaining or 0),
        status=item.status, open_expires_at=None if item.open_expires_at is None else int(item.open_expires_at),
        dialect=item.dialect, signed_order=signed, created_us=int(item.created_us or 0),
        updated_us=int(item.updated_us or 0),
    )


def _item(order: Order):
    """The PynamoDB item of an `Order`."""
    values = {name: getattr(order, name) for name in ORDER_FIELDS}
    values.update(status_index=order.status_index, cap=None if order.cap == "give" else order.cap,
                  expired_with=set(order.expired_with) or None,
                  signed_order=dict(order.signed_order) if order.signed_order is not None else None)
    return OrderItem(**values)


class _Domain:
    """A PynamoDB result iterator yielding `Order`s (and its `last_evaluated_key`, for paging)."""

    def __init__(self, results):
        self._results = results

    def __iter__(self) -> Iterator[Order]:
        return (_domain(item) for item in self._results)

    @property
    def last_evaluated_key(self):
        return self._results.last_evaluated_key


class DynamoOrders:
    def __init__(self, client=None, table=None):
        self._client = client
        self._table = table
        self.stats = ReadStats()

    def _connection(self):
        if self._client is not None:
            return self._client
        return db.client()

    def _table_name(self) -> str:
        return self._table if self._table is not None else table_name()

    # -- the book, projected ----------------------------------------------------------------

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
        return self._query(market, f"{prefix}{letter}#", upper or f"{prefix}{letter}#{MAX_KEY_CHAR}", limit, after)

    def restricted_to(self, market: str, taker: str, *, limit: int) -> Page:
        return self._query(market, f"T#{taker}#", f"T#{taker}#{MAX_KEY_CHAR}", limit, None)

    def restricted_from(self, market: str, start: str, *, limit: int) -> Page:
        return self._query(market, f"T#{start}", f"T#{MAX_KEY_CHAR}", limit, None)

    def whole_book(self, market: str, *, limit: int) -> Page:
        return self._query(market, "B#", f"T#{MAX_KEY_CHAR}", limit, None)

    def own_side(self, source: str, market: str, letter: str, bound: str, *, limit: int) -> list[BookEntry]:
        response = self._connection().query(
            TableName=self._table_name(), IndexName="open_by_source", Limit=limit,
            KeyConditionExpression="#a3 = :s AND #a15 BETWEEN :lo AND :hi", FilterExpression="#a0 = :m",
            ProjectionExpression=_PROJECTION, ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues={":s": {"S": source}, ":lo": {"S": f"{letter}#"}, ":hi": {"S": bound},
                                       ":m": {"S": market}},
        )
        self.stats.round_trips += 1
        return [entry_from_item(item) for item in response.get("Items", [])]

    def add(self, entries: Iterable[BookEntry]) -> None:
        """25 per BatchWriteItem."""
        items = [{"PutRequest": {"Item": item_of(e)}} for e in entries]
        for start in range(0, len(items), 25):
            pending = {self._table_name(): items[start:start + 25]}
            while pending:
                pending = self._connection().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    # -- whole orders -------------------------------------------------------------------------

    def get(self, market: str, tx_hash: str) -> Order | None:
        if not (db.is_key(market) and db.is_key(tx_hash)):
            return None
        try:
            return _domain(OrderItem.get(market, tx_hash, consistent_read=True))
        except OrderItem.DoesNotExist:
            return None

    def find(self, tx_hash: str) -> Order | None:
        if not db.is_key(tx_hash):
            return None
        found = next(iter(OrderItem.by_hash.query(tx_hash, limit=1)), None)
        return None if found is None else _domain(found)

    def get_many(self, keys: list[tuple[str, str]]) -> list[Order]:
        return [_domain(item) for item in OrderItem.batch_get(keys, consistent_read=True)] if keys else []

    def due_to_expire(self, market: str, now: float, *, limit: int) -> list[Order]:
        return [_domain(item) for item in OrderItem.open_expiry.query(
            market, OrderItem.open_expires_at <= int(now), limit=limit, consistent_read=True)]

    def of_asset(self, asset: str, status: str, *, limit: int) -> list[Order]:
        prefix = OrderItem.status_index.startswith(f"{status}#")
        return [_domain(item) for index in (OrderItem.by_give_asset, OrderItem.by_get_asset)
                for item in index.query(asset, prefix, scan_index_forward=False, limit=limit)]

    def open_side(self, market: str, letter: str, *, restricted: bool = False, signed_only: bool = False,
                  limit: int | None = None) -> Iterator[Order]:
        only = OrderItem.signed_order.exists() if signed_only else None
        prefix = "T#" if restricted else f"{letter}#"
        if not restricted:
            return iter(_Domain(OrderItem.book.query(market, OrderItem.book_key.startswith(prefix), limit=limit,
                                                     consistent_read=True, filter_condition=only)))
        found = _Domain(OrderItem.book.query(market, OrderItem.book_key.startswith(prefix), consistent_read=True,
                                             filter_condition=only))
        return itertools.islice((o for o in found if o.letter == letter), limit)  # both sides share the space

    def open_of_source(self, source: str, *, market: str | None = None, limit: int | None = None
                       ) -> Iterator[Order]:
        only = (OrderItem.market == market) if market else None
        return iter(_Domain(OrderItem.open_by_source.query(source, limit=limit, filter_condition=only)))

    def of_source(self, source: str) -> Iterator[Order]:
        return iter(_Domain(OrderItem.by_source.query(source, scan_index_forward=False)))

    def for_taker(self, taker: str) -> Iterator[Order]:
        return iter(_Domain(OrderItem.by_taker.query(taker, scan_index_forward=False)))

    def page_of_source(self, source: str, limit: int, cursor: str | None,
                       keep: Callable[[Order], bool]) -> paging.Page[Order]:
        return paging.page(lambda start: _Domain(OrderItem.by_source.query(
            source, scan_index_forward=False, last_evaluated_key=start)),
            _SOURCE_KEYS, limit, cursor, keep, fixed={"source": source})

    def page_open_of_source(self, source: str, limit: int, cursor: str | None) -> paging.Page[Order]:
        return paging.page(lambda start: _Domain(OrderItem.open_by_source.query(
            source, limit=limit, last_evaluated_key=start)), _OPEN_SOURCE_KEYS, limit, cursor,
            fixed={"source": source})

    def page_book(self, market: str, limit: int, cursor: str | None,
                  keep: Callable[[Order], bool] = lambda _o: True) -> paging.Page[Order]:
        return paging.page(lambda start: _Domain(OrderItem.book.query(
            market, limit=limit, last_evaluated_key=start, consistent_read=True)), _BOOK_KEYS, limit, cursor,
            keep, fixed={"market": market})

    def every(self, page_size: int) -> Iterator[Order]:
        """Every order, one consistent Scan page at a time: the operator's audit only, never a
        request path."""
        return iter(_Domain(OrderItem.scan(consistent_read=True, page_size=page_size)))

    # -- writes --------------------------------------------------------------------------------

    def stage_place(self, tx: store.Tx, order: Order) -> None:
        tx.put(_item(order), condition=OrderItem.tx_hash.does_not_exist(), on_fail=store.AlreadyApplied)

    def stage_change(self, tx: store.Tx, before: Order, after: Order) -> None:
        actions = []
        for name in _CHANGEABLE:
            old, new = getattr(before, name), getattr(after, name)
            if old != new:
                attribute = getattr(OrderItem, name)
                actions.append(attribute.remove() if new is None else attribute.set(new))
        if after.status != before.status:
            actions.append(OrderItem.status_index.set(after.status_index))
        added = after.expired_with - before.expired_with
        if added:  # ADD: two give-backs of one order never drop each other's mark
            actions.append(OrderItem.expired_with.add(added))
        tx.update(OrderItem(before.market, before.tx_hash), actions=actions,
                  condition=(OrderItem.status == before.status) & (OrderItem.give_remaining == before.give_remaining))

    def stage_fill(self, tx: store.Tx, entry: BookEntry, give_left: int, get_left: int, now_us: int,
                   close_as: str | None = None) -> None:
        tx.raw("Update", remaining_update(entry, give_left, get_left, now_us, close_as))


# What a change of an order may write (`stage_change`); the rest is fixed at placement.
_CHANGEABLE = ("give_remaining", "get_remaining", "status", "book_key", "open_expires_at", "updated_us")
_BOOK_KEYS = {"market": "S", "tx_hash": "S", "book_key": "S"}
_SOURCE_KEYS = {"market": "S", "tx_hash": "S", "source": "S", "tx_index": "N"}
_OPEN_SOURCE_KEYS = {"market": "S", "tx_hash": "S", "source": "S", "book_key": "S"}


# -- in memory -----------------------------------------------------------------------------

def _key_tuple(values: Mapping[str, Any], names: dict[str, str]) -> tuple:
    """A cursor's key, or an order's, as a tuple that sorts as the index does."""
    return tuple(values[name] for name in names)


class MemoryOrders:
    """The same table in a dict: for pure-rule tests and as the contract's reference."""

    def __init__(self, ledger=None):
        from chalicelib.ledger.stores.memory import MemoryLedger

        self._ledger = ledger or MemoryLedger()
        self.orders: dict[tuple[str, str], Order] = {}
        self.stats = ReadStats()

    @property
    def _lock(self) -> threading.RLock:
        return self._ledger.lock

    def _all(self, keep: Callable[[Order], bool]) -> list[Order]:
        with self._lock:
            return [o for o in self.orders.values() if keep(o)]

    # -- the book, projected ----------------------------------------------------------------

    def _range(self, market: str, low: str, high: str, limit: int, after: str | None) -> Page:
        found = sorted((as_entry(o) for o in self._all(
            lambda o: o.market == market and o.book_key is not None and low <= o.book_key <= high
            and (after is None or o.book_key > after))), key=lambda e: e.book_key)
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

    def whole_book(self, market: str, *, limit: int) -> Page:
        return self._range(market, "B#", f"T#{MAX_KEY_CHAR}", limit, None)

    def own_side(self, source: str, market: str, letter: str, bound: str, *, limit: int) -> list[BookEntry]:
        self.stats.round_trips += 1
        found = sorted(self._all(lambda o: o.source == source and o.book_key is not None
                                 and f"{letter}#" <= o.book_key <= bound), key=lambda o: o.book_key)
        return [as_entry(o) for o in found[:limit] if o.market == market]  # Limit applies before the filter

    def add(self, entries: Iterable[BookEntry]) -> None:
        with self._lock:
            for entry in entries:
                self.orders[(entry.market, entry.tx_hash)] = as_order(entry)

    # -- whole orders -------------------------------------------------------------------------

    def get(self, market: str, tx_hash: str) -> Order | None:
        with self._lock:
            return self.orders.get((market, tx_hash))

    def find(self, tx_hash: str) -> Order | None:
        return next(iter(self._all(lambda o: o.tx_hash == tx_hash)), None)

    def get_many(self, keys: list[tuple[str, str]]) -> list[Order]:
        with self._lock:
            return [self.orders[k] for k in keys if k in self.orders]

    def due_to_expire(self, market: str, now: float, *, limit: int) -> list[Order]:
        found = self._all(lambda o: o.market == market and o.open_expires_at is not None
                          and o.open_expires_at <= int(now))
        return sorted(found, key=lambda o: (o.open_expires_at, o.tx_hash))[:limit]

    def of_asset(self, asset: str, status: str, *, limit: int) -> list[Order]:
        newest = lambda o: o.status_index  # noqa: E731
        gives = sorted(self._all(lambda o: o.give_asset == asset and o.status == status), key=newest, reverse=True)
        gets = sorted(self._all(lambda o: o.get_asset == asset and o.status == status), key=newest, reverse=True)
        return gives[:limit] + gets[:limit]

    def open_side(self, market: str, letter: str, *, restricted: bool = False, signed_only: bool = False,
                  limit: int | None = None) -> Iterator[Order]:
        prefix = "T#" if restricted else f"{letter}#"
        found = sorted(self._all(lambda o: o.market == market and o.book_key is not None
                                 and o.book_key.startswith(prefix) and o.letter == letter
                                 and (not signed_only or o.signed_order is not None)), key=lambda o: o.book_key)
        return iter(found[:limit] if limit is not None else found)

    def open_of_source(self, source: str, *, market: str | None = None, limit: int | None = None
                       ) -> Iterator[Order]:
        found = sorted(self._all(lambda o: o.source == source and o.book_key is not None
                                 and (market is None or o.market == market)), key=lambda o: (o.book_key, o.market))
        return iter(found[:limit] if limit is not None else found)

    def of_source(self, source: str) -> Iterator[Order]:
        return iter(sorted(self._all(lambda o: o.source == source), key=lambda o: o.tx_index, reverse=True))

    def for_taker(self, taker: str) -> Iterator[Order]:
        return iter(sorted(self._all(lambda o: o.taker == taker), key=lambda o: o.tx_index, reverse=True))

    def _page(self, rows: list[Order], names: dict[str, str], descending: bool, limit: int, cursor: str | None,
              keep: Callable[[Order], bool], fixed: dict[str, str]) -> paging.Page[Order]:
        """A page as DynamoDB gives one: rows after the cursor's key in index order."""
        paging.check_limit(limit)
        start = paging.decode(cursor, names, fixed)
        ordered = sorted(rows, key=lambda o: _key_tuple(_values(o), names), reverse=descending)
        if start is not None:
            at = _key_tuple({k: int(v["N"]) if "N" in v else v["S"] for k, v in start.items()}, names)
            ordered = [o for o in ordered if (_key_tuple(_values(o), names) < at if descending
                                              else _key_tuple(_values(o), names) > at)]
        taken: list[Order] = []
        read = 0
        for order in ordered:
            read += 1
            if keep(order):
                taken.append(order)
            if len(taken) >= limit or read >= 1000:
                break
        last = ordered[read - 1] if read < len(ordered) else None
        cursor_key = None if last is None else {k: {t: str(_values(last)[k])} for k, t in names.items()}
        return paging.Page(taken, paging.encode(cursor_key))

    def page_of_source(self, source: str, limit: int, cursor: str | None,
                       keep: Callable[[Order], bool]) -> paging.Page[Order]:
        return self._page(self._all(lambda o: o.source == source), _MEMORY_SOURCE_KEYS, True, limit, cursor, keep,
                          {"source": source})

    def page_open_of_source(self, source: str, limit: int, cursor: str | None) -> paging.Page[Order]:
        return self._page(self._all(lambda o: o.source == source and o.book_key is not None),
                          _MEMORY_OPEN_SOURCE_KEYS, False, limit, cursor, lambda _o: True, {"source": source})

    def page_book(self, market: str, limit: int, cursor: str | None,
                  keep: Callable[[Order], bool] = lambda _o: True) -> paging.Page[Order]:
        return self._page(self._all(lambda o: o.market == market and o.book_key is not None),
                          _MEMORY_BOOK_KEYS, False, limit, cursor, keep, {"market": market})

    def every(self, page_size: int) -> Iterator[Order]:
        return iter(self._all(lambda _o: True))

    # -- writes --------------------------------------------------------------------------------

    def stage_place(self, tx, order: Order) -> None:
        key = (order.market, order.tx_hash)

        def check() -> Exception | None:
            return store.AlreadyApplied(order.tx_hash) if key in self.orders else None

        def apply() -> None:
            self.orders[key] = order

        tx.stage(check, apply)

    def stage_change(self, tx, before: Order, after: Order) -> None:
        key = (before.market, before.tx_hash)

        def check() -> Exception | None:
            current = self.orders.get(key)
            if current is None or (current.status, current.give_remaining) != (before.status, before.give_remaining):
                return store.StaleRead(f"order {before.tx_hash} changed")
            return None

        def apply() -> None:
            current = self.orders[key]
            self.orders[key] = replace(after, expired_with=current.expired_with | after.expired_with)

        tx.stage(check, apply)

    def stage_fill(self, tx, entry: BookEntry, give_left: int, get_left: int, now_us: int,
                   close_as: str | None = None) -> None:
        key = (entry.market, entry.tx_hash)

        def check() -> Exception | None:
            current = self.orders.get(key)
            if current is None or current.status != "open" or current.give_remaining != entry.give_remaining:
                return store.StaleRead(f"order {entry.tx_hash} changed")
            return None

        def apply() -> None:
            current = replace(self.orders[key], give_remaining=give_left, get_remaining=get_left, updated_us=now_us)
            self.orders[key] = closed(current, close_as, now_us) if close_as else current

        tx.stage(check, apply)


# The index keys a memory page sorts by, in order (the table's keys last, as tie-breaks).
_MEMORY_BOOK_KEYS = {"market": "S", "book_key": "S", "tx_hash": "S"}
_MEMORY_SOURCE_KEYS = {"source": "S", "tx_index": "N", "market": "S", "tx_hash": "S"}
_MEMORY_OPEN_SOURCE_KEYS = {"source": "S", "book_key": "S", "market": "S", "tx_hash": "S"}


def _values(order: Order) -> dict[str, Any]:
    return {"market": order.market, "tx_hash": order.tx_hash, "book_key": order.book_key or "",
            "source": order.source, "tx_index": order.tx_index}

