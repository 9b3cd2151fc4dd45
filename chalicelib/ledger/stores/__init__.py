"""The data-access layer under the ledger: one store per table (or aggregate).

Each store module owns its table's keys, indexes, queries, read consistency and
conditional writes, and speaks frozen domain dataclasses: PynamoDB items never leave
it. Each has two implementations of one Protocol, a DynamoDB one and an in-memory one
(a fake, not a mock), which pass the same contract tests (`tests/contract/`).

The ledger modules reach the active implementations through this registry
(`stores.markets()`, ...); `using(stores.in_memory())` swaps all of them at once, so
the rules can be tested without a database. Balance changes still go through one
transaction with their journal entry: `new_tx()` gives the active backend's (`store.Tx`
on DynamoDB, `MemoryTx` in memory), and stores add their writes to it
(`markets().stage_advance(tx, ...)`).

`stores.markets` is the accessor function, not the module (and so for every store):
import a store's names from its module (`from chalicelib.ledger.stores.markets import
Market`). Every store module is imported below, before the accessors are defined, so none
is rebound by a later import.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.ledger.stores.api_keys import ApiKeyStore, DynamoApiKeys, MemoryApiKeys
from chalicelib.ledger.stores.assets import AssetStore, DynamoAssets, MemoryAssets
from chalicelib.ledger.stores.balances import BalanceStore, DynamoBalances, MemoryBalances
from chalicelib.ledger.stores.connections import ConnectionStore, DynamoConnections, MemoryConnections
from chalicelib.ledger.stores.conversions import ConversionStore, DynamoConversions, MemoryConversions
from chalicelib.ledger.stores.counters import CounterStore, DynamoCounters, MemoryCounters
from chalicelib.ledger.stores.deposit_addresses import (
    DepositAddressStore,
    DynamoDepositAddresses,
    MemoryDepositAddresses,
)
from chalicelib.ledger.stores.deposits import DepositStore, DynamoDeposits, MemoryDeposits
from chalicelib.ledger.stores.feeds import DynamoFeeds, FeedStore, MemoryFeeds
from chalicelib.ledger.stores.heartbeats import DynamoHeartbeats, HeartbeatStore, MemoryHeartbeats
from chalicelib.ledger.stores.journal import DynamoJournal, JournalStore, MemoryJournal
from chalicelib.ledger.stores.market_stats import DynamoMarketStats, MarketStatsStore, MemoryMarketStats
from chalicelib.ledger.stores.markets import DynamoMarkets, MarketStore, MemoryMarkets
from chalicelib.ledger.stores.matches import DynamoMatches, MatchStore, MemoryMatches
from chalicelib.ledger.stores.memory import MemoryLedger
from chalicelib.ledger.stores.nonces import DynamoNonces, MemoryNonces, NonceStore
from chalicelib.ledger.stores.orders import DynamoOrders, MemoryOrders, OrderStore
from chalicelib.ledger.stores.outbox import DynamoOutbox, MemoryOutbox, OutboxStore
from chalicelib.ledger.stores.pairs import DynamoPairs, MemoryPairs, PairStore
from chalicelib.ledger.stores.withdrawals import DynamoWithdrawals, MemoryWithdrawals, WithdrawalStore


@dataclass(frozen=True)
class Stores:
    """One consistent set of implementations (all DynamoDB, or all in one memory)."""

    name: str
    assets: AssetStore
    markets: MarketStore
    balances: BalanceStore
    api_keys: ApiKeyStore
    pairs: PairStore
    deposit_addresses: DepositAddressStore
    counters: CounterStore
    market_stats: MarketStatsStore
    orders: OrderStore
    matches: MatchStore
    new_tx: Callable[[], Any]
    # the lifecycle records: incoming and outgoing transfers
    deposits: DepositStore
    withdrawals: WithdrawalStore
    conversions: ConversionStore
    outbox: OutboxStore
    nonces: NonceStore
    heartbeats: HeartbeatStore
    journal: JournalStore
    # realtime: WebSocket connections and the publisher's feeds
    connections: ConnectionStore
    feeds: FeedStore


@functools.cache
def dynamodb() -> Stores:
    from chalicelib.ledger import store

    return Stores("dynamodb", assets=DynamoAssets(), markets=DynamoMarkets(), balances=DynamoBalances(),
                  api_keys=DynamoApiKeys(), pairs=DynamoPairs(), deposit_addresses=DynamoDepositAddresses(),
                  counters=DynamoCounters(), orders=DynamoOrders(), matches=DynamoMatches(),
                  market_stats=DynamoMarketStats(), new_tx=store.Tx,
                  deposits=DynamoDeposits(), withdrawals=DynamoWithdrawals(), conversions=DynamoConversions(),
                  outbox=DynamoOutbox(), nonces=DynamoNonces(),
                  heartbeats=DynamoHeartbeats(), journal=DynamoJournal(),
                  connections=DynamoConnections(), feeds=DynamoFeeds())


def in_memory() -> Stores:
    """A fresh, empty in-memory ledger."""
    ledger = MemoryLedger()
    return Stores("memory", assets=MemoryAssets(ledger), markets=MemoryMarkets(ledger),
                  balances=MemoryBalances(ledger), api_keys=MemoryApiKeys(ledger), pairs=MemoryPairs(ledger),
                  deposit_addresses=MemoryDepositAddresses(ledger), counters=MemoryCounters(ledger),
                  orders=MemoryOrders(ledger), matches=MemoryMatches(ledger), market_stats=MemoryMarketStats(ledger),
                  new_tx=ledger.tx,
                  deposits=MemoryDeposits(ledger), withdrawals=MemoryWithdrawals(ledger),
                  conversions=MemoryConversions(ledger), outbox=MemoryOutbox(ledger), nonces=MemoryNonces(ledger),
                  heartbeats=MemoryHeartbeats(ledger), journal=MemoryJournal(ledger),
                  connections=MemoryConnections(ledger), feeds=MemoryFeeds(ledger))


_active: Stores | None = None


def active() -> Stores:
    return _active or dynamodb()


@contextlib.contextmanager
def using(stores: Stores) -> Iterator[Stores]:
    """Run the ledger on `stores` (tests); the per-process caches are emptied on both sides."""
    from chalicelib.ledger import cache

    global _active
    previous, _active = _active, stores
    cache.clear()
    try:
        yield stores
    finally:
        _active = previous
        cache.clear()


def assets() -> AssetStore:
    return active().assets


def markets() -> MarketStore:
    return active().markets


def balances() -> BalanceStore:
    return active().balances


def api_keys() -> ApiKeyStore:
    return active().api_keys


def pairs() -> PairStore:
    return active().pairs


def deposit_addresses() -> DepositAddressStore:
    return active().deposit_addresses


def counters() -> CounterStore:
    return active().counters


def market_stats() -> MarketStatsStore:
    return active().market_stats


def orders() -> OrderStore:
    return active().orders


def matches() -> MatchStore:
    return active().matches


def new_tx() -> Any:
    return active().new_tx()


def deposits() -> DepositStore:
    return active().deposits


def withdrawals() -> WithdrawalStore:
    return active().withdrawals


def conversions() -> ConversionStore:
    return active().conversions


def outbox() -> OutboxStore:
    return active().outbox


def nonces() -> NonceStore:
    return active().nonces


def heartbeats() -> HeartbeatStore:
    return active().heartbeats


def journal() -> JournalStore:
    return active().journal


def connections() -> ConnectionStore:
    return active().connections


def feeds() -> FeedStore:
    return active().feeds
