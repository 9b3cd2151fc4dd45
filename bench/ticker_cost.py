"""Read cost of a market's 24 h figures at 10 and at 10,000 matches of the day, on moto.

For N = 10 and 10,000 completed matches spread over the last 23 hours (written with
BatchWriteItem), and the hourly `market_stats` buckets the settling transactions would have
written for them (built with `market_data.add_trades`, one conditional Put per hour, as a
settlement stages it), it reads the figures TRIALS times two ways and prints, side by side:
items returned by DynamoDB, round trips and the median time of

* buckets: `market_data.day_stats` (what every ticker reads now: one Query, at most 25 items);
* matches: the figures from every match of the last 24 h (a Query of the matches'
  `by_market` index, paged, plus the last match before the window), as tickers read them
  before the buckets; the floor a per-request aggregation cannot go below.

It also says whether the two give the same figures. Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import _summary  # noqa: E402

from tests import environment, support  # noqa: E402,F401  (the environment before the models)

COUNTS = (10, 10_000)
TRIALS = 3
MARKET = "ZRX-WETH"
DAY_US = 86_400 * 1_000_000


class Reads:
    """Items returned and round trips made inside the block."""

    def __init__(self) -> None:
        self.items = self.calls = 0

    def after(self, operation: str, params: dict, result: dict) -> None:
        self.calls += 1
        self.items += len(result.get("Items", [])) + (1 if result.get("Item") else 0)


def matches_day_stats(market, now_us: int):
    """The figures from the matches, as computed before the buckets."""
    from chalicelib.ledger.market_data import DayStats, fill_price
    from chalicelib.ledger.models import OrderMatch

    stats = DayStats()
    for match in OrderMatch.by_market.query(market.id, OrderMatch.time_us >= now_us - DAY_US):
        if match.status != "completed":
            continue
        price, base, quote = fill_price(market, match)
        stats.price_24h = price if stats.price_24h is None else stats.price_24h
        stats.last = price
        stats.high = price if stats.high is None else max(stats.high, price)
        stats.low = price if stats.low is None else min(stats.low, price)
        stats.base_volume += base
        stats.quote_volume += quote
        stats.trades += 1
    before = next(iter(OrderMatch.by_market.query(market.id, OrderMatch.time_us < now_us - DAY_US,
                                                  scan_index_forward=False, limit=1)), None)
    if before is not None:
        stats.price_24h = fill_price(market, before)[0]
        stats.last = stats.last if stats.last is not None else stats.price_24h
    return stats


def fill_day(clock, count: int) -> None:
    """`count` completed matches over the last 23 hours and their hourly buckets."""
    from chalicelib.ledger import assets, market_data, markets, store, stores
    from chalicelib.ledger.models import OrderMatch

    assets.create_asset(assets.Asset("WETH", decimals=18), clock)
    assets.create_asset(assets.Asset("ZRX", decimals=18), clock)
    markets.create_market(MARKET, "ZRX", "WETH", Fraction(0), clock)
    now_us = clock.now_us()
    first_us = (market_data.hour_of(now_us) - 22) * market_data.HOUR_US
    step = (now_us - first_us) // count
    by_hour: dict[int, list] = {}
    with OrderMatch.batch_write() as batch:
        for i in range(count):
            base, quote, time_us = 10**18 + i, (10**18 + i) * (1 + i % 7) // 1000, first_us + i * step
            batch.save(OrderMatch(
                f"{i:064x}_{i + 1:064x}", market=MARKET, tx0_index=i, tx0_hash=f"{i:064x}", tx0_address="alice",
                tx1_index=i + 1, tx1_hash=f"{i + 1:064x}", tx1_address="bob", forward_asset="ZRX",
                forward_quantity=base, backward_asset="WETH", backward_quantity=quote, tx0_block_index=0,
                tx1_block_index=0, block_index=0, tx0_expiration=0, tx1_expiration=0, match_expire_index=20,
                fee_paid=0, fee_asset="ZRX", status="completed", time_us=time_us))
            trade = market_data.Trade(Fraction(quote, base), base, quote, time_us)
            by_hour.setdefault(market_data.hour_of(time_us), []).append(trade)
    for hour, trades in sorted(by_hour.items()):
        tx = store.Tx()
        stores.market_stats().stage_put(tx, market_data.add_trades(None, MARKET, trades), None)
        tx.commit(f"bench:{MARKET}:{hour}", "settle", MARKET, now_us)


def measure(read) -> tuple[Reads, float]:
    times = []
    for _ in range(TRIALS):
        reads = Reads()
        with support.after(reads.after):
            started = time.perf_counter()
            read()
            times.append(time.perf_counter() - started)
    return reads, statistics.median(times) * 1000


def main() -> int:
    from chalicelib.ledger import market_data
    from chalicelib.ledger.markets import get_market

    rows = []
    for count in COUNTS:
        clock = support.make_clock()
        clock.advance(30 * 86_400)
        with support.moto_ledger(clock):
            fill_day(clock, count)
            market = get_market(MARKET)
            new, new_ms = measure(lambda m=market, c=clock: market_data.day_stats(m, c))
            old, old_ms = measure(lambda m=market, c=clock: matches_day_stats(m, c.now_us()))
            same = market_data.day_stats(market, clock) == matches_day_stats(market, clock.now_us())
            rows.append((count, new, new_ms, old, old_ms, same))
    print(f"24 h figures of one market (moto, median of {TRIALS} reads)")
    print(f"{'matches':>8} | {'buckets: items':>14} {'calls':>5} {'ms':>7} | {'matches: items':>14} {'calls':>5} "
          f"{'ms':>8} | same figures")
    for count, new, new_ms, old, old_ms, same in rows:
        print(f"{count:>8} | {new.items:>14} {new.calls:>5} {new_ms:>7.1f} | {old.items:>14} {old.calls:>5} "
              f"{old_ms:>8.1f} | {'yes' if same else 'NO'}")
    small, large = rows[0], rows[-1]
    print(f"items read at {large[0]} matches / at {small[0]}: buckets {large[1].items / small[1].items:.2f}x "
          f"(one per hour that traded, at most 25), matches {large[3].items / small[3].items:.0f}x")
    _summary.record("ticker_cost", f"24 h figures: items read at {large[0]:,} matches (buckets)",
                    f"{large[1].items} items, {large[2]:.1f} ms",
                    f"reading the matches {large[3].items} items, {large[4]:.1f} ms",
                    large[1].items / large[3].items, "bounded (<= 25 items) at any volume, same figures",
                    large[1].items <= 25 and all(row[5] for row in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
