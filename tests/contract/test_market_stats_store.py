"""The market_stats store contract (DynamoDB and in-memory): hourly buckets of a market's
completed trades, written with the transaction that completes them, read newest first."""

from __future__ import annotations

from fractions import Fraction

import pytest

from chalicelib.ledger import store
from chalicelib.ledger.stores.market_stats import Bucket


def bucket(hour: int, market: str = "ZRX-WETH", **fields) -> Bucket:
    values = dict(trades=1, base_volume=10, quote_volume=5, open=Fraction(1, 2), close=Fraction(1, 2),
                  high=Fraction(1, 2), low=Fraction(1, 2), first_us=hour * 3_600_000_000,
                  last_us=hour * 3_600_000_000)
    values.update(fields)
    return Bucket(market, hour, **values)


def put(backend, written: Bucket, read: Bucket | None, entry: str) -> None:
    tx = backend.new_tx()
    backend.market_stats.stage_put(tx, written, read)
    tx.commit(entry, "settle", written.market, 1)


def test_a_bucket_reads_back_exactly_with_its_first_version(backend):
    huge = 10**60  # past DynamoDB's 38 digits: volumes are decimal strings
    written = bucket(7, trades=3, base_volume=huge, quote_volume=huge + 1, open=Fraction(2, 3),
                     close=Fraction(10**40, 7), high=Fraction(10**40, 7), low=Fraction(1, 10**30),
                     first_us=7 * 3_600_000_000 + 5, last_us=7 * 3_600_000_000 + 9)
    assert backend.market_stats.get("ZRX-WETH", 7) is None
    put(backend, written, None, "settle:ZRX-WETH:1")
    stored = backend.market_stats.get("ZRX-WETH", 7)
    assert stored.version == 1
    assert stored == Bucket(**{**written.__dict__, "version": 1})


def test_nothing_is_written_before_the_commit(backend):
    tx = backend.new_tx()
    backend.market_stats.stage_put(tx, bucket(3), None)
    assert backend.market_stats.get("ZRX-WETH", 3) is None
    assert backend.market_stats.recent("ZRX-WETH", 10, 25) == []


def test_each_write_moves_the_version_and_conditions_on_the_one_read(backend):
    put(backend, bucket(5), None, "e1")
    first = backend.market_stats.get("ZRX-WETH", 5)
    put(backend, bucket(5, trades=2, base_volume=20), first, "e2")
    second = backend.market_stats.get("ZRX-WETH", 5)
    assert (second.version, second.trades, second.base_volume) == (2, 2, 20)

    # A writer that read the first version loses, and its whole transaction with it.
    tx = backend.new_tx()
    backend.market_stats.stage_put(tx, bucket(5, trades=99), first)
    tx.move("alice", "ZRX", available=5)
    with pytest.raises(store.StaleRead):
        tx.commit("e3", "settle", "ZRX-WETH", 3)
    assert backend.market_stats.get("ZRX-WETH", 5) == second
    assert backend.balances.get("alice", "ZRX", consistent=True) is None


def test_a_new_bucket_loses_to_one_written_meanwhile(backend):
    put(backend, bucket(5, trades=4), None, "e1")
    with pytest.raises(store.StaleRead):
        put(backend, bucket(5, trades=1), None, "e2")  # it read "no bucket" before e1 committed
    assert backend.market_stats.get("ZRX-WETH", 5).trades == 4


def test_a_replayed_commit_adds_nothing(backend):
    put(backend, bucket(5), None, "settle:ZRX-WETH:1")
    with pytest.raises((store.AlreadyApplied, store.StaleRead)):
        put(backend, bucket(5), None, "settle:ZRX-WETH:1")
    assert backend.market_stats.get("ZRX-WETH", 5).version == 1


def test_recent_is_the_newest_count_up_to_an_hour_of_one_market(backend):
    for i, hour in enumerate((1, 4, 9, 10, 30)):
        put(backend, bucket(hour), None, f"a{i}")
    put(backend, bucket(10, market="ZRX-DAI"), None, "other")
    assert [b.hour for b in backend.market_stats.recent("ZRX-WETH", 10, 25)] == [10, 9, 4, 1]
    assert [b.hour for b in backend.market_stats.recent("ZRX-WETH", 10, 2)] == [10, 9]
    assert [b.hour for b in backend.market_stats.recent("ZRX-WETH", 8, 25)] == [4, 1]
    assert [b.hour for b in backend.market_stats.recent("ZRX-WETH", 0, 25)] == []
    assert [b.market for b in backend.market_stats.recent("ZRX-DAI", 99, 25)] == ["ZRX-DAI"]
    assert all(isinstance(b, Bucket) for b in backend.market_stats.recent("ZRX-WETH", 99, 25))


def test_reads_of_an_unknown_or_impossible_market_find_nothing(backend):
    assert backend.market_stats.recent("NOPE-WETH", 10, 25) == []
    assert backend.market_stats.recent("", 10, 25) == []
    assert backend.market_stats.get("X" * 3000, 1) is None


def test_reads_count_the_items_they_return(backend):
    for hour in range(40):
        put(backend, bucket(hour), None, f"h{hour}")
    before = backend.market_stats.items_read
    assert len(backend.market_stats.recent("ZRX-WETH", 39, 25)) == 25
    backend.market_stats.get("ZRX-WETH", 3)
    assert backend.market_stats.items_read - before == 26
