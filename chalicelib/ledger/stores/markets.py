"""The markets table: one item per market, its configuration and its serial state.

Keys: `id` ("BASE-QUOTE"). Index `all_markets` (hash `kind` = "market", range `id`) lists
them without a Scan. `seq` orders every settlement of a market: a settling transaction
conditions on the `seq` it read and increments it (`stage_advance`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.ledger import db, store
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

    def stage_advance(self, tx: Any, market: Market, last_price: str | None) -> None:
        """Add to `tx`: `seq` + 1 (and `last_price`), on condition that `seq` is still the
        one `market` was read with (else the commit raises `store.StaleRead`)."""

    def stage_update(self, tx: Any, market_id: str, changes: dict[str, Any]) -> None:
        """Add to `tx` the change of `EDITABLE` fields of an existing market (an operator's
        change, committed with its journal entry); the commit raises `store.StaleRead` if
        the market is gone."""


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


def _domain(item: MarketItem) -> Market:
    return Market(**{name: getattr(item, name) for name in _FIELDS})


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
