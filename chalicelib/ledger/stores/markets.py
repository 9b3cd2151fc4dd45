"""The markets table: one item per market, its configuration and its serial state.

Keys: `id` ("BASE-QUOTE"). Index `all_markets` (hash `kind` = "market", range `id`) lists
them without a Scan. One market per pair of assets: `stage_create` also puts a guard item
per pair (`market_pair#A#B`, the names sorted, in the counters table) naming the market, in
the same transaction, so a market and its reverse can never both exist;
`market_of_pair` reads it. `seq` orders every settlement of a market: a settling transaction
conditions on the `seq` it read and increments it (`stage_advance`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.errors import AlreadyExists
from chalicelib.ledger import db, store
from chalicelib.ledger.models import Counter
from chalicelib.ledger.models import Market as MarketItem
from chalicelib.ledger.stores.memory import MemoryLedger, MemoryTx


@dataclass(frozen=True)
class Market:
    id: str
    base: str
    quote: str
    number: int = 0  # the 0x relayer's numeric market id
    fee: str = "0"  # decimal string rate taken from the taker's proceeds
    min_amount: int = 0  # base units of the base asset
    name: str | None = None
    url: str | None = None
    enabled: bool = True
    seq: int = 0
    last_price: str | None = None  # "n/d" quote base units per base base unit
    created_us: int = 0
    failing_passes: int = 0  # passes/batches in a row that failed on this market
    last_failure: str | None = None
    restricted: bool | None = None  # set once a taker-restricted order was placed (settlement reads them then)


# What an operator may change after creation (the ids, assets and serial state are fixed).
EDITABLE = frozenset({"fee", "min_amount", "name", "url", "enabled"})
_FIELDS = tuple(f.name for f in dataclasses.fields(Market))


class MarketStore(Protocol):
    def get(self, market_id: str, consistent: bool = False) -> Market | None: ...

    def list(self) -> list[Market]:
        """Every market, by id."""

    def create(self, market: Market) -> bool:
        """Put the market unless its id exists; False when it does."""

    def stage_create(self, tx: Any, market: Market) -> None:
        """Add the market and its pair's guard to `tx`; the commit raises `AlreadyExists`
        when the id, or any market of the same two assets (its reverse), exists."""

    def market_of_pair(self, asset_a: str, asset_b: str) -> str | None:
        """The id of the market trading these two assets (in either order), or None."""

    def stage_advance(self, tx: Any, market: Market, last_price: str | None) -> None:
        """Add to `tx`: `seq` + 1 (and `last_price`), on condition that `seq` is still the
        one `market` was read with (else the commit raises `store.StaleRead`)."""

    def stage_flag_restricted(self, tx: Any, market_id: str) -> None:
        """Add to `tx`: mark the market as holding taker-restricted orders (set once, never
        cleared; settlement looks for such orders only where the flag is set)."""

    def record_failure(self, market_id: str, reason: str) -> int | None:
        """One more failed pass on the market (never touches `seq`); the new count, or
        None when there is no such market."""

    def clear_failures(self, market_id: str) -> None:
        """The market settled again: its failure count back to 0."""

    def stage_update(self, tx: Any, market_id: str, changes: dict[str, Any]) -> None:
        """Add to `tx` the change of `EDITABLE` fields of an existing market (an operator's
        change, committed with its journal entry); the commit raises `store.StaleRead` if
        the market is gone."""


def pair_key(asset_a: str, asset_b: str) -> str:
    first, second = sorted((asset_a, asset_b))
    return f"market_pair#{first}#{second}"


def _check_editable(changes: dict[str, Any]) -> None:
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")


class DynamoMarkets:
    def get(self, market_id: str, consistent: bool = False) -> Market | None:
        if not db.is_key(market_id):
            return None
        try:
            return _domain(MarketItem.get(market_id, consistent_read=consistent))
        except MarketItem.DoesNotExist:
            return None

    def list(self) -> list[Market]:
        return [_domain(item) for item in MarketItem.all_markets.query("market")]

    def create(self, market: Market) -> bool:
        item = MarketItem(**dataclasses.asdict(market))
        return store.write_if(lambda: item.save(condition=MarketItem.id.does_not_exist()))

    def stage_create(self, tx: store.Tx, market: Market) -> None:
        tx.put(MarketItem(**dataclasses.asdict(market)), condition=MarketItem.id.does_not_exist(),
               on_fail=AlreadyExists(f"market {market.id} already exists"))
        tx.put(Counter(pair_key(market.base, market.quote), value=0, market=market.id),
               condition=Counter.name.does_not_exist(),
               on_fail=AlreadyExists(f"a market already trades {market.base} against {market.quote}"))

    def market_of_pair(self, asset_a: str, asset_b: str) -> str | None:
        key = pair_key(asset_a, asset_b)
        if not db.is_key(key):
            return None
        try:
            return Counter.get(key).market
        except Counter.DoesNotExist:
            return None

    def stage_update(self, tx: store.Tx, market_id: str, changes: dict[str, Any]) -> None:
        _check_editable(changes)
        actions = [getattr(MarketItem, name).remove() if value is None else getattr(MarketItem, name).set(value)
                   for name, value in changes.items()]
        tx.update(MarketItem(market_id), actions=actions, condition=MarketItem.id.exists())

    def stage_advance(self, tx: store.Tx, market: Market, last_price: str | None) -> None:
        actions = [MarketItem.seq.set(market.seq + 1)]
        if last_price is not None:
            actions.append(MarketItem.last_price.set(last_price))
        tx.update(MarketItem(market.id), actions=actions, condition=MarketItem.seq == market.seq)

    def stage_flag_restricted(self, tx: store.Tx, market_id: str) -> None:
        tx.update(MarketItem(market_id), actions=[MarketItem.restricted.set(True)])

    def record_failure(self, market_id: str, reason: str) -> int | None:
        if not db.is_key(market_id):
            return None
        item = MarketItem(market_id)
        actions = [MarketItem.failing_passes.add(1), MarketItem.last_failure.set(reason[:MAX_REASON])]
        if not store.write_if(lambda: item.update(actions=actions, condition=MarketItem.id.exists())):
            return None
        return int(item.failing_passes)

    def clear_failures(self, market_id: str) -> None:
        item = MarketItem(market_id)
        store.write_if(lambda: item.update(
            actions=[MarketItem.failing_passes.set(0), MarketItem.last_failure.remove()],
            condition=MarketItem.failing_passes > 0))


MAX_REASON = 500


def _domain(item: MarketItem) -> Market:
    values = {name: getattr(item, name) for name in _FIELDS}
    values["failing_passes"] = int(values["failing_passes"] or 0)
    return Market(**values)


class MemoryMarkets:
    def __init__(self, ledger: MemoryLedger):
        self._ledger = ledger
        self._markets: dict[str, Market] = {}

    def get(self, market_id: str, consistent: bool = False) -> Market | None:
        return self._markets.get(market_id)

    def list(self) -> list[Market]:
        with self._ledger.lock:
            return [self._markets[k] for k in sorted(self._markets)]

    def create(self, market: Market) -> bool:
        with self._ledger.lock:
            if market.id in self._markets:
                return False
            self._markets[market.id] = market
            return True

    def stage_create(self, tx: MemoryTx, market: Market) -> None:
        def check() -> Exception | None:
            if market.id in self._markets:
                return AlreadyExists(f"market {market.id} already exists")
            if self.market_of_pair(market.base, market.quote) is not None:
                return AlreadyExists(f"a market already trades {market.base} against {market.quote}")
            return None

        def apply() -> None:
            self._markets[market.id] = market

        tx.stage(check, apply)

    def market_of_pair(self, asset_a: str, asset_b: str) -> str | None:
        wanted = {asset_a, asset_b}
        return next((m.id for m in self._markets.values() if {m.base, m.quote} == wanted), None)

    def stage_update(self, tx: MemoryTx, market_id: str, changes: dict[str, Any]) -> None:
        _check_editable(changes)

        def check() -> Exception | None:
            return None if market_id in self._markets else store.StaleRead(f"market {market_id} is gone")

        def apply() -> None:
            self._markets[market_id] = dataclasses.replace(self._markets[market_id], **changes)

        tx.stage(check, apply)

    def stage_advance(self, tx: MemoryTx, market: Market, last_price: str | None) -> None:
        def check() -> Exception | None:
            current = self._markets.get(market.id)
            return None if current is not None and current.seq == market.seq else store.StaleRead(
                f"market {market.id} moved past seq {market.seq}")

        def apply() -> None:
            current = self._markets[market.id]
            self._markets[market.id] = dataclasses.replace(
                current, seq=market.seq + 1, last_price=current.last_price if last_price is None else last_price)

        tx.stage(check, apply)

    def stage_flag_restricted(self, tx: MemoryTx, market_id: str) -> None:
        def apply() -> None:
            if market_id in self._markets:
                self._markets[market_id] = dataclasses.replace(self._markets[market_id], restricted=True)

        tx.stage(lambda: None, apply)

    def record_failure(self, market_id: str, reason: str) -> int | None:
        with self._ledger.lock:
            current = self._markets.get(market_id)
            if current is None:
                return None
            self._markets[market_id] = dataclasses.replace(
                current, failing_passes=current.failing_passes + 1, last_failure=reason[:MAX_REASON])
            return current.failing_passes + 1

    def clear_failures(self, market_id: str) -> None:
        with self._ledger.lock:
            current = self._markets.get(market_id)
            if current is not None and current.failing_passes:
                self._markets[market_id] = dataclasses.replace(current, failing_passes=0, last_failure=None)
