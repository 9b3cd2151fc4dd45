"""The coin_pairs table: converter pairs, deposits of `from_coin` paid out in `to_coin`.

Keys: `pair` = "FROM-TO". Indexes, each ranged by the numeric `id`: `all_pairs` (hash
`kind` = "pair"), `by_from_coin`, `by_to_coin`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

from chalicelib.ledger import db, store
from chalicelib.ledger.models import CoinPair as PairItem
from chalicelib.ledger.stores.memory import MemoryLedger


@dataclass(frozen=True)
class CoinPair:
    id: int
    from_coin: str
    to_coin: str
    exchange_rate: str  # decimal string: to_coin per from_coin
    ex_fee: str = "0"  # percent, decimal string

    @property
    def pair(self) -> str:
        return pair_key(self.from_coin, self.to_coin)


def pair_key(from_coin: str, to_coin: str) -> str:
    return f"{from_coin}-{to_coin}"


class PairStore(Protocol):
    def create(self, pair: CoinPair) -> bool:
        """Put the pair unless FROM-TO exists; False when it does."""

    def get(self, from_coin: str, to_coin: str) -> CoinPair | None: ...

    def by_id(self, pair_id: int) -> CoinPair | None: ...

    def list(self, from_coin: str | None = None, to_coin: str | None = None) -> list[CoinPair]:
        """Pairs (optionally of one source and/or target coin), by id."""


class DynamoPairs:
    def create(self, pair: CoinPair) -> bool:
        item = PairItem(pair.pair, **dataclasses.asdict(pair))
        return store.write_if(lambda: item.save(condition=PairItem.pair.does_not_exist()))

    def get(self, from_coin: str, to_coin: str) -> CoinPair | None:
        key = pair_key(from_coin, to_coin)
        if not db.is_key(key):
            return None
        try:
            return _domain(PairItem.get(key))
        except PairItem.DoesNotExist:
            return None

    def by_id(self, pair_id: int) -> CoinPair | None:
        found = next(iter(PairItem.all_pairs.query("pair", PairItem.id == pair_id, limit=1)), None)
        return _domain(found) if found else None

    def list(self, from_coin: str | None = None, to_coin: str | None = None) -> list[CoinPair]:
        if from_coin:
            if not db.is_key(from_coin):
                return []
            found = PairItem.by_from_coin.query(from_coin)
            return [_domain(p) for p in found if not to_coin or p.to_coin == to_coin]
        if to_coin:
            return [_domain(p) for p in PairItem.by_to_coin.query(to_coin)] if db.is_key(to_coin) else []
        return [_domain(p) for p in PairItem.all_pairs.query("pair")]


def _domain(item: PairItem) -> CoinPair:
    return CoinPair(int(item.id), item.from_coin, item.to_coin, item.exchange_rate, item.ex_fee)


class MemoryPairs:
    def __init__(self, ledger: MemoryLedger):
        self._ledger = ledger
        self._pairs: dict[str, CoinPair] = {}

    def create(self, pair: CoinPair) -> bool:
        with self._ledger.lock:
            if pair.pair in self._pairs:
                return False
            self._pairs[pair.pair] = pair
            return True

    def get(self, from_coin: str, to_coin: str) -> CoinPair | None:
        return self._pairs.get(pair_key(from_coin, to_coin))

    def by_id(self, pair_id: int) -> CoinPair | None:
        with self._ledger.lock:
            return next((p for p in self._pairs.values() if p.id == pair_id), None)

    def list(self, from_coin: str | None = None, to_coin: str | None = None) -> list[CoinPair]:
        with self._ledger.lock:
            return sorted((p for p in self._pairs.values()
                           if (not from_coin or p.from_coin == from_coin) and (not to_coin or p.to_coin == to_coin)),
                          key=lambda p: p.id)
