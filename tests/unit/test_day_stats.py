"""The 24 h figures from hourly buckets equal the figures computed directly from the trades.

Trades are added as settlement commits and payments add them (a commit's trades share an
hour; a paid pending match lands in an older hour, so hours are written in any order),
through the in-memory market_stats store, and read back by `day_stats` as a ticker does.
The reference computes the same figures from the plain list of trades: the window is
the current hour and the 23 before it; equal times keep the order the trades came in.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.ledger import market_data, stores
from chalicelib.ledger.clock import FixedClock
from chalicelib.ledger.market_data import HOUR_US, WINDOW_HOURS, DayStats, Trade, add_trades, day_stats
from chalicelib.ledger.stores.markets import Market

MARKET = Market("ZRX-WETH", base="ZRX", quote="WETH")
T0_HOUR = 490_000  # some hour in 2025


def direct(trades: list[Trade], now_us: int) -> DayStats:
    """The figures from the list of trades, in the order they were added."""
    now_hour = now_us // HOUR_US
    start = now_hour - WINDOW_HOURS + 1
    ordered = [t for _, _, t in sorted((t.time_us, i, t) for i, t in enumerate(trades))]  # stable by time
    inside = [t for t in ordered if start <= t.time_us // HOUR_US <= now_hour]
    before = [t for t in ordered if t.time_us // HOUR_US < start]
    stats = DayStats(trades=len(inside), base_volume=sum(t.base for t in inside),
                     quote_volume=sum(t.quote for t in inside))
    if inside:
        stats.high, stats.low = max(t.price for t in inside), min(t.price for t in inside)
        stats.price_24h, stats.last = inside[0].price, inside[-1].price
    if before:
        stats.price_24h = before[-1].price
        stats.last = stats.last if stats.last is not None else before[-1].price
    return stats


def commit(batch: list[Trade]) -> None:
    """What a settlement commit (or a payment) does: read the hour's bucket, add, put."""
    hour = batch[0].time_us // HOUR_US
    read = stores.market_stats().get(MARKET.id, hour)
    tx = stores.new_tx()
    stores.market_stats().stage_put(tx, add_trades(read, MARKET.id, batch), read)
    tx.commit(f"settle:{id(batch)}:{hour}", "settle", MARKET.id, batch[0].time_us)


def at(now_us: int) -> FixedClock:
    return FixedClock(genesis_time=0, genesis_block=0, block_seconds=10, current=now_us / 1_000_000)


def trade(hour: int, second: int, base: int, quote: int) -> Trade:
    return Trade(Fraction(quote, base), base, quote, (T0_HOUR + hour) * HOUR_US + second * 1_000_000)


# A few seconds per hour only, so that equal times (one commit's fills) are common.
batches = st.lists(
    st.integers(0, 60).flatmap(lambda hour: st.lists(
        st.builds(trade, st.just(hour), st.sampled_from([0, 1, 1800, 3599]), st.integers(1, 10**20),
                  st.integers(1, 10**20)), min_size=1, max_size=4)),
    min_size=0, max_size=30)


@settings(max_examples=300, deadline=None)
@given(batches, st.integers(-2, 70), st.integers(0, 3599))
def test_buckets_then_window_equal_the_stats_of_the_trades(commits, now_hour, now_second):
    now_us = (T0_HOUR + now_hour) * HOUR_US + now_second * 1_000_000
    with stores.using(stores.in_memory()):
        for batch in commits:
            commit(batch)
        got = day_stats(MARKET, at(now_us))
    assert got == direct([t for batch in commits for t in batch], now_us)


def test_the_window_is_the_current_hour_and_the_23_before_it():
    now_us = (T0_HOUR + 30) * HOUR_US + 10 * 1_000_000  # ten seconds into hour 30
    oldest_inside = trade(30 - 23, 0, 10, 30)  # 23 h 00 min 10 s ago
    newest_outside = trade(30 - 24, 3599, 10, 20)  # 23 h 00 min 11 s ago, in the hour before
    with stores.using(stores.in_memory()):
        commit([newest_outside])
        commit([oldest_inside])
        got = day_stats(MARKET, at(now_us))
    assert (got.trades, got.base_volume, got.quote_volume) == (1, 10, 30)
    assert got.price_24h == Fraction(2) and got.last == Fraction(3)  # 24 h ago: the last trade before


def test_the_price_24h_ago_comes_from_however_long_ago_the_last_trade_was():
    now_us = (T0_HOUR + 400) * HOUR_US
    with stores.using(stores.in_memory()) as active:
        commit([trade(0, 0, 1, 5)])  # 400 hours ago, then nothing
        got = day_stats(MARKET, at(now_us))
        assert active.market_stats.items_read == 1
    assert got == DayStats(last=Fraction(5), price_24h=Fraction(5))


def test_a_full_window_reads_one_bucket_more_for_the_price_before_it():
    now_hour = 100
    with stores.using(stores.in_memory()) as active:
        for hour in range(now_hour - 40, now_hour + 1):
            commit([trade(hour, 7, 1, hour)])  # price = the hour
        read_before = active.market_stats.items_read
        got = day_stats(MARKET, at((T0_HOUR + now_hour) * HOUR_US + 1))
        assert active.market_stats.items_read - read_before == WINDOW_HOURS + 1  # not all 41
    assert got.trades == WINDOW_HOURS and got.price_24h == now_hour - WINDOW_HOURS
    assert (got.low, got.high, got.last) == (now_hour - WINDOW_HOURS + 1, now_hour, now_hour)


def test_no_trades_no_figures():
    with stores.using(stores.in_memory()):
        assert day_stats(MARKET, at(T0_HOUR * HOUR_US)) == DayStats()


def test_trades_of_another_hour_are_refused():
    first = trade(3, 0, 1, 1)
    bucket = add_trades(None, MARKET.id, [first])
    with pytest.raises(ValueError):
        add_trades(bucket, MARKET.id, [trade(4, 0, 1, 1)])
    with pytest.raises(ValueError):
        add_trades(None, MARKET.id, [first, trade(4, 0, 1, 1)])
    with pytest.raises(ValueError):
        add_trades(None, MARKET.id, [])


def test_trade_of_a_match_reads_base_and_quote_from_either_side():
    class Match:
        forward_asset, forward_quantity, backward_asset, backward_quantity, time_us = "WETH", 6, "ZRX", 4, 9

    assert market_data.trade_of(MARKET, Match()) == Trade(Fraction(3, 2), 4, 6, 9)
