"""The matches store: match ids, the frozen `Match`, its reads and its conditional writes.

Match ids. Counterparty's id is ``f"{tx0_hash}_{tx1_hash}"``; it is unique as long as a
pair of orders trades at most once, which holds while neither order has had anything
given back: after a fill the matcher leaves the pair unable to trade again (one side is
exhausted at the other's price). Only a match that expired unpaid gives quantity back
(`external._give_back`), and it marks both of its orders (`expired_with`). So a fill in
which either order carries that mark is named ``f"{tx0_hash}_{tx1_hash}_{seq}"``, `seq`
being the market's settlement number that commits it: a settlement commits at most one
fill per pair, and a retried settlement re-reads `seq` and the orders, so ids are unique
and idempotent through `seq`.

Indexes: `by_tx0` / `by_tx1` (an order's matches), `by_market`, `by_tx0_address` /
`by_tx1_address` (by `time_us`), and the sparse `pending_by_market` (`pending_market` is
present only while a match waits for an external payment, by `match_expire_index`).

`DynamoMatches` and `MemoryMatches` pass the same contract tests
(`tests/contract/test_match_store.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

from chalicelib.ledger import db, store
from chalicelib.ledger.models import OrderMatch

STATUSES = ("pending", "completed", "expired")


@dataclass(frozen=True)
class Match:
    """One fill between a resting order (tx0, the maker) and an incoming one (tx1, the taker)."""

    id: str
    market: str
    tx0_index: int
    tx0_hash: str
    tx0_address: str
    tx1_index: int
    tx1_hash: str
    tx1_address: str
    forward_asset: str  # from tx0 to tx1
    forward_quantity: int
    backward_asset: str  # from tx1 to tx0
    backward_quantity: int
    tx0_block_index: int
    tx1_block_index: int
    block_index: int
    match_expire_index: int
    status: str  # pending | completed | expired
    time_us: int
    tx0_expiration: int = 0
    tx1_expiration: int = 0
    fee_paid: int = 0
    fee_asset: str | None = None


_FIELDS = tuple(f.name for f in dataclasses.fields(Match))
_INTS = frozenset(f.name for f in dataclasses.fields(Match) if f.type == "int")


def match_id(tx0_hash: str, tx1_hash: str, seq: int, repeat: bool) -> str:
    """The id of one fill; `repeat` when either order has had a match expire unpaid."""
    return f"{tx0_hash}_{tx1_hash}_{seq}" if repeat else f"{tx0_hash}_{tx1_hash}"


class MatchStore(Protocol):
    def get(self, id: str) -> Match | None:
        """By id, strongly consistent."""

    def get_many(self, ids: list[str]) -> list[Match]:
        """The matches of these ids that exist, strongly consistent."""

    def of_order(self, tx_hash: str) -> list[Match]:
        """Every match of an order (as tx0 or tx1), oldest first."""

    def of_address(self, address: str, role: str, *, since_us: int | None = None, market: str | None = None,
                   limit: int | None = None, newest_first: bool = False) -> Iterator[Match]:
        """The matches in which `address` is the `role` ("tx0" | "tx1") side, by time, read
        lazily; `since_us`: from that time on; `market`: that market's only."""

    def of_market(self, market: str, *, since_us: int | None = None, before_us: int | None = None,
                  limit: int | None = None, newest_first: bool = False) -> Iterator[Match]:
        """A market's matches by time (`since_us` <= time < `before_us`), read lazily."""

    def pending_due(self, market: str, block: int, *, limit: int) -> list[Match]:
        """Pending matches of `market` whose `match_expire_index` <= `block`."""

    def every(self, page_size: int) -> Iterator[Match]:
        """Every match (a Scan: the operator's audit only, never a request path)."""

    def stage_new(self, tx: Any, match: Match) -> None:
        """Put a new match; the commit raises `store.StaleRead` if its id exists."""

    def stage_settle(self, tx: Any, match: Match, status: str) -> None:
        """A pending match becomes `status` ("completed" | "expired"); the commit raises
        `store.StaleRead` unless it is still pending."""


# -- DynamoDB ------------------------------------------------------------------------------

def table_name() -> str:
    return OrderMatch.Meta.table_name


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def match_item(match: Match) -> dict[str, Any]:
    """The match in wire format (settlement builds a transaction of these)."""
    item: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(match, name)
        if value is not None:
            item[name] = _n(value) if name in _INTS else {"S": value}
    if match.status == "pending":
        item["pending_market"] = {"S": match.market}
    return item


def _domain(item) -> Match:
    """A `Match` of a PynamoDB item."""
    values = {name: getattr(item, name) for name in _FIELDS}
    for name in _INTS:
        values[name] = int(values[name] or 0)
    return Match(**values)


class DynamoMatches:
    def get(self, id: str) -> Match | None:
        if not db.is_key(id):
            return None
        try:
            return _domain(OrderMatch.get(id, consistent_read=True))
        except OrderMatch.DoesNotExist:
            return None

    def get_many(self, ids: list[str]) -> list[Match]:
        return [_domain(item) for item in OrderMatch.batch_get(ids, consistent_read=True)] if ids else []

    def of_order(self, tx_hash: str) -> list[Match]:
        if not db.is_key(tx_hash):
            return []
        found = [_domain(m) for index in (OrderMatch.by_tx0, OrderMatch.by_tx1) for m in index.query(tx_hash)]
        return sorted(found, key=lambda m: (m.time_us, m.id))

    def of_address(self, address: str, role: str, *, since_us: int | None = None, market: str | None = None,
                   limit: int | None = None, newest_first: bool = False) -> Iterator[Match]:
        index = {"tx0": OrderMatch.by_tx0_address, "tx1": OrderMatch.by_tx1_address}[role]
        since = None if since_us is None else OrderMatch.time_us >= since_us
        only = (OrderMatch.market == market) if market else None
        return (_domain(m) for m in index.query(address, since, scan_index_forward=not newest_first, limit=limit,
                                                filter_condition=only))

    def of_market(self, market: str, *, since_us: int | None = None, before_us: int | None = None,
                  limit: int | None = None, newest_first: bool = False) -> Iterator[Match]:
        time = OrderMatch.time_us
        if since_us is not None and before_us is not None:
            condition = time.between(since_us, before_us - 1)
        elif since_us is not None:
            condition = time >= since_us
        elif before_us is not None:
            condition = time < before_us
        else:
            condition = None
        return (_domain(m) for m in OrderMatch.by_market.query(market, condition, scan_index_forward=not newest_first,
                                                               limit=limit))

    def pending_due(self, market: str, block: int, *, limit: int) -> list[Match]:
        return [_domain(m) for m in OrderMatch.pending_by_market.query(
            market, OrderMatch.match_expire_index <= block, limit=limit)]

    def every(self, page_size: int) -> Iterator[Match]:
        return (_domain(m) for m in OrderMatch.scan(consistent_read=True, page_size=page_size))

    def stage_new(self, tx: store.Tx, match: Match) -> None:
        tx.raw("Put", {"TableName": table_name(), "Item": match_item(match),
                       "ConditionExpression": "attribute_not_exists(#id)", "ExpressionAttributeNames": {"#id": "id"}})

    def stage_settle(self, tx: store.Tx, match: Match, status: str) -> None:
        tx.update(OrderMatch(match.id), actions=[OrderMatch.status.set(status), OrderMatch.pending_market.remove()],
                  condition=OrderMatch.status == "pending")


# -- in memory -----------------------------------------------------------------------------

class MemoryMatches:
    def __init__(self, ledger=None):
        from chalicelib.ledger.stores.memory import MemoryLedger

        self._ledger = ledger or MemoryLedger()
        self.matches: dict[str, Match] = {}

    def _all(self, keep) -> list[Match]:
        with self._ledger.lock:
            return [m for m in self.matches.values() if keep(m)]

    def get(self, id: str) -> Match | None:
        return self.matches.get(id)

    def get_many(self, ids: list[str]) -> list[Match]:
        return [self.matches[i] for i in ids if i in self.matches]

    def of_order(self, tx_hash: str) -> list[Match]:
        return sorted(self._all(lambda m: tx_hash in (m.tx0_hash, m.tx1_hash)), key=lambda m: (m.time_us, m.id))

    @staticmethod
    def _by_time(found: list[Match], limit: int | None, newest_first: bool) -> Iterator[Match]:
        ordered = sorted(found, key=lambda m: m.time_us, reverse=newest_first)
        return iter(ordered[:limit] if limit is not None else ordered)

    def of_address(self, address: str, role: str, *, since_us: int | None = None, market: str | None = None,
                   limit: int | None = None, newest_first: bool = False) -> Iterator[Match]:
        attribute = {"tx0": "tx0_address", "tx1": "tx1_address"}[role]
        return self._by_time(self._all(lambda m: getattr(m, attribute) == address
                                       and (since_us is None or m.time_us >= since_us)
                                       and (market is None or m.market == market)), limit, newest_first)

    def of_market(self, market: str, *, since_us: int | None = None, before_us: int | None = None,
                  limit: int | None = None, newest_first: bool = False) -> Iterator[Match]:
        return self._by_time(self._all(lambda m: m.market == market and (since_us is None or m.time_us >= since_us)
                                       and (before_us is None or m.time_us < before_us)), limit, newest_first)

    def pending_due(self, market: str, block: int, *, limit: int) -> list[Match]:
        found = self._all(lambda m: m.market == market and m.status == "pending" and m.match_expire_index <= block)
        return sorted(found, key=lambda m: m.match_expire_index)[:limit]

    def every(self, page_size: int) -> Iterator[Match]:
        return iter(self._all(lambda _m: True))

    def stage_new(self, tx, match: Match) -> None:
        def check() -> Exception | None:
            return store.StaleRead(f"match {match.id} exists") if match.id in self.matches else None

        def apply() -> None:
            self.matches[match.id] = match

        tx.stage(check, apply)

    def stage_settle(self, tx, match: Match, status: str) -> None:
        def check() -> Exception | None:
            current = self.matches.get(match.id)
            return None if current is not None and current.status == "pending" else store.StaleRead(
                f"match {match.id} is not pending")

        def apply() -> None:
            self.matches[match.id] = replace(self.matches[match.id], status=status)

        tx.stage(check, apply)
