"""Settlement cost against book depth, and placement, on DynamoDB Local, beside the floor.

Three markets in one ledger hold resting books of 10, 1,000 and 10,000 orders (half bids
below 0.99, half asks from 1.000 up). The books are written straight into DynamoDB Local
with BatchWriteItem from WRITERS threads, as the order items placement writes
(`stores.orders.item_of`) with their escrow locked in bulk: what is measured is the depth of
the book, not placing it through the API (~300 orders/s on 2 cores, DynamoDB Local on disk as
`make run` starts it; `--in-memory` for `-inMemory`). All three books share one set of tables:
a book is one market's partition of the orders table and its `book` index.

Trials, in rounds: each round makes one paired trial per depth, the depths in a rotated order
(so a burst of load on the shared machine falls on every depth alike). A trial places a buy
crossing the best CROSSED asks (not timed), then times `settlement.match_market` and the
floor, one right after the other, which one goes first alternating from round to round. The
floor is what the issue defines, made of the settlement's own requests: one consistent
GetItem (the market item), one bounded Query (the settlement's first top-of-book Query,
replayed), and one TransactWriteItems of the same items as the settlement's commit, derived
from that commit (so an item added to it is counted too), unconditional and aimed at fresh
keys of the same tables (every key attribute rewritten, so the same index maintenance and
nothing of the ledger touched). The first WARM_UP rounds are not kept. Per depth it prints
items read, round trips, consumed capacity (read units of the settlement's GetItem and
Queries, write units of its commit, as DynamoDB Local reports them with
ReturnConsumedCapacity), the commit's item count, the medians of both times and the median
of the paired ratios with its interquartile range. The asks a trial took are written again
after it, so every trial sees the same book. Targets (issue 11): <= 1.5x the floor at every
depth; the ratio at 10,000 within 10 % of the ratio at 10, printed with a 95 % bootstrap
interval (whole rounds resampled): on a loaded shared machine single trials scatter by
+-30 %, and the interval says whether the run could resolve 10 % at all.

Placement: `orders.place_order` (warm caches) beside one consistent GetItem + one
TransactWriteItems of the same items on fresh keys, paired and alternated the same way;
target <= 1.3x.

`--rounds N` and `--depths 10,1000` make a shorter run. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import random
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import _summary  # noqa: E402
from tests import environment, support  # noqa: E402,F401  (the environment before the models)

DEPTHS = (10, 1_000, 10_000)
WARM_UP = 3  # rounds not kept (caches, connections, the JVM's JIT)
ROUNDS = 40  # kept rounds: one paired trial per depth each
PLACEMENTS = 40  # kept placement pairs (after WARM_UP more)
CROSSED = 3  # asks each incoming buy takes
MAKERS = 10
WRITERS = 8  # BatchWriteItem threads building the books
CHUNK = 250  # orders per writer task (BatchWriteItem calls of 25)
QUOTE = "WETH"
BOOTSTRAP = 2000  # resamples for the drift's interval
SEED = 11


def market_of(depth: int) -> str:
    return f"D{depth}-{QUOTE}"


def base_of(depth: int) -> str:
    return f"D{depth}"


def ask(market: str, i: int, maker: str, tx_index: int):
    from chalicelib.ledger.stores.orders import BookEntry, book_key

    base = market.split("-")[0]
    give, get = 1000, 1000 + i  # 1 base coin at 1.000 + i/1000 WETH (3 decimals)
    tx_hash = f"{tx_index:064x}"
    return BookEntry(market=market, tx_hash=tx_hash, tx_index=tx_index, source=maker, side="sell",
                     give_asset=base, give_quantity=give, give_remaining=give, get_asset=QUOTE, get_quantity=get,
                     get_remaining=get, expires_at=4_000_000_000,
                     book_key=book_key("sell", give, get, tx_index, tx_hash), block_index=1, expiration=8064)


def bid(market: str, i: int, maker: str, tx_index: int):
    from chalicelib.ledger.stores.orders import BookEntry, book_key

    base = market.split("-")[0]
    give, get = 990 - i % 900, 1000  # 1 base coin at 0.990 - ... WETH
    tx_hash = f"{tx_index:064x}"
    return BookEntry(market=market, tx_hash=tx_hash, tx_index=tx_index, source=maker, side="buy",
                     give_asset=QUOTE, give_quantity=give, give_remaining=give, get_asset=base, get_quantity=get,
                     get_remaining=get, expires_at=4_000_000_000,
                     book_key=book_key("buy", give, get, tx_index, tx_hash), block_index=1, expiration=8064)


def build(depths: tuple[int, ...], clock) -> float:
    """Every book at once; the seconds it took."""
    from chalicelib.ledger import assets, markets, settlement
    from chalicelib.ledger.models import Balance

    assets.create_asset(assets.Asset(QUOTE, decimals=3), clock)
    for depth in depths:
        assets.create_asset(assets.Asset(base_of(depth), decimals=3), clock)
        markets.create_market(market_of(depth), base_of(depth), QUOTE, Fraction(0), clock)
        for m in range(MAKERS):  # the resting orders are written directly (no placement), so their escrow is too
            Balance(f"maker{m}", base_of(depth), locked=10**12).save()
    for m in range(MAKERS):
        Balance(f"bidder{m}", QUOTE, locked=10**12).save()
    Balance("taker", QUOTE, available=10**15).save()
    started = time.perf_counter()
    entries, tx_index = [], itertools.count(1_000)
    for depth in depths:
        for i in range(depth // 2):
            entries.append(ask(market_of(depth), i, f"maker{i % MAKERS}", next(tx_index)))
            entries.append(bid(market_of(depth), i, f"bidder{i % MAKERS}", next(tx_index)))
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(settlement.book.add, [entries[i:i + CHUNK] for i in range(0, len(entries), CHUNK)]))
    return time.perf_counter() - started


class Recorder:
    """The settlement's (or placement's) requests as sent, with ConsumedCapacity asked for
    and summed: the floor is rebuilt from them."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.read_units = self.write_units = 0.0

    def before(self, operation: str, params: dict) -> None:
        if operation in ("GetItem", "Query", "TransactWriteItems", "BatchGetItem"):
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        self.requests.append((operation, copy.deepcopy(params)))

    def after(self, operation: str, params: dict, result: dict) -> None:
        consumed = result.get("ConsumedCapacity")
        units = sum(float(c.get("CapacityUnits", 0)) for c in (consumed if isinstance(consumed, list)
                                                                else [consumed] if consumed else []))
        if operation == "TransactWriteItems":
            self.write_units += units
        else:
            self.read_units += units

    def first(self, operation: str) -> dict | None:
        return next((copy.deepcopy(p) for op, p in self.requests if op == operation), None)

    def last(self, operation: str) -> dict | None:
        return next((copy.deepcopy(p) for op, p in reversed(self.requests) if op == operation), None)


_key_schemas: dict[str, list[str]] = {}


def key_attributes(client, table: str) -> list[str]:
    if table not in _key_schemas:
        _key_schemas[table] = [k["AttributeName"] for k in client.describe_table(TableName=table)["Table"]["KeySchema"]]
    return _key_schemas[table]


def fresh_copy(client, items: list[dict], tag: str) -> list[dict]:
    """The transaction's items, unconditional and aimed at fresh keys of the same tables (every
    key attribute rewritten): the database's own cost of that write, touching nothing real."""
    out = []
    for entry in copy.deepcopy(items):
        (action, request), = entry.items()
        if action == "ConditionCheck":  # a read inside the transaction: it stays one, on a key that exists
            out.append(entry)
            continue
        request.pop("ConditionExpression", None)
        used = set(re.findall(r"[#:][A-Za-z0-9_]+", request.get("UpdateExpression", "")))
        for field in ("ExpressionAttributeValues", "ExpressionAttributeNames"):
            kept = {k: v for k, v in request.get(field, {}).items() if k in used}
            request.pop(field, None)
            if kept:
                request[field] = kept
        target = request.get("Key") or request.get("Item")
        for name in key_attributes(client, request["TableName"]):
            value = target[name]
            if "S" in value:
                target[name] = {"S": f"floor-{tag}-{value['S']}"}
            elif "N" in value:
                target[name] = {"N": str(int(value["N"]) + 10**15 + hash(tag) % 10**9)}
        out.append({action: request})
    return out


def floor_calls(client, template: dict, tag: str) -> dict[str, float]:
    """One consistent GetItem + one bounded Query + one TransactWriteItems of the same size,
    each timed (seconds)."""
    times = {}
    started = time.perf_counter()
    client.get_item(**template["get"])
    times["get"] = time.perf_counter() - started
    started = time.perf_counter()
    client.query(**template["query"])
    times["query"] = time.perf_counter() - started
    writes = fresh_copy(client, template["write"], tag)
    started = time.perf_counter()
    client.transact_write_items(TransactItems=writes)
    times["twi"] = time.perf_counter() - started
    return times


def market_get(market: str) -> dict:
    from chalicelib.ledger.models import Market

    return {"TableName": Market.Meta.table_name, "Key": {"id": {"S": market}}, "ConsistentRead": True}


class Depth:
    """The trials of one depth."""

    def __init__(self, depth: int) -> None:
        self.depth, self.market = depth, market_of(depth)
        self.template: dict | None = None  # the floor's requests, from the last settlement
        self.rows: list[dict] = []
        self.next_index = itertools.count(10**9 + depth * 10**5)

    def trial(self, client, clock, settle_first: bool, keep: bool) -> None:
        from chalicelib.ledger import orders, settlement

        clock.advance(0.01)
        price_total = (1000 + CROSSED - 1) * CROSSED  # its limit is the price of the last ask it takes
        orders.place_order(orders.OrderRequest("taker", QUOTE, price_total, base_of(self.depth), CROSSED * 1000,
                                               market=self.market), clock)
        settle_first = settle_first or self.template is None
        floor = None
        if not settle_first:
            floor = floor_calls(client, self.template, f"{self.depth}-{len(self.rows)}-{clock.now_us()}")
        settlement.book.stats.reset()
        recorder = Recorder()
        with support.hook(recorder.before), support.after(recorder.after):
            started = time.perf_counter()
            report = settlement.match_market(self.market, clock)
            elapsed = time.perf_counter() - started
        if report.fills != CROSSED:
            raise SystemExit(f"depth {self.depth}: {report.fills} fills, expected {CROSSED}: {report}")
        commit = recorder.last("TransactWriteItems")
        self.template = {"get": market_get(self.market), "query": recorder.first("Query"),
                         "write": commit["TransactItems"]}
        self.template["query"].pop("ReturnConsumedCapacity", None)
        if settle_first:
            floor = floor_calls(client, self.template, f"{self.depth}-{len(self.rows)}-{clock.now_us()}")
        if keep:
            self.rows.append({"ms": elapsed * 1000, "floor": {k: v * 1000 for k, v in floor.items()},
                              "items": settlement.book.stats.items, "trips": len(recorder.requests),
                              "rcu": recorder.read_units, "wcu": recorder.write_units,
                              "tx_items": len(commit["TransactItems"])})
        # the asks it took, again (same prices, later arrival)
        settlement.book.add([ask(self.market, i, f"maker{i % MAKERS}", next(self.next_index)) for i in range(CROSSED)])

    def ratios(self) -> list[float]:
        """match_market / floor of each kept trial, in round order."""
        return [r["ms"] / sum(r["floor"].values()) for r in self.rows]

    def summary(self) -> dict:
        def med(key):
            return statistics.median(r[key] for r in self.rows)

        floors = [sum(r["floor"].values()) for r in self.rows]
        ratios = sorted(self.ratios())
        quartiles = statistics.quantiles(ratios, n=4)
        tenth = statistics.quantiles([r["ms"] for r in self.rows], n=10)[0] / statistics.quantiles(floors, n=10)[0]
        return {"ms": med("ms"), "floor": statistics.median(floors), "tenth": tenth,
                "parts": {k: statistics.median(r["floor"][k] for r in self.rows) for k in ("get", "query", "twi")},
                "ratio": statistics.median(ratios), "q1": quartiles[0], "q3": quartiles[2],
                "items": med("items"), "trips": med("trips"), "rcu": med("rcu"), "wcu": med("wcu"),
                "tx_items": med("tx_items"), "n": len(self.rows)}


def drift_interval(low: list[float], high: list[float]) -> tuple[float, float]:
    """95 % bootstrap interval of median(high) / median(low) - 1, resampling whole rounds (a
    round holds one trial per depth, made within a second or so of each other)."""
    rng = random.Random(SEED)
    n = len(low)
    drifts = []
    for _ in range(BOOTSTRAP):
        picks = [rng.randrange(n) for _ in range(n)]
        drifts.append(statistics.median(high[i] for i in picks) / statistics.median(low[i] for i in picks) - 1)
    cuts = statistics.quantiles(drifts, n=40)  # 2.5 % steps
    return cuts[0], cuts[-1]


def placement_trials(client, clock, market: str, base: str, count: int) -> dict:
    from chalicelib.ledger import orders
    from chalicelib.ledger.models import Balance

    Balance("placer", base, available=10**12).save()
    pairs, template = [], None
    for trial in range(count + WARM_UP):
        clock.advance(0.01)
        request = orders.OrderRequest("placer", base, 1000, QUOTE, 5000 + trial, market=market)  # far above the book
        place_first = template is None or trial % 2 == 0
        tag = f"place-{trial}"
        if not place_first:
            floor = timed_place_floor(client, template, market, tag)
        recorder = Recorder()
        with support.hook(recorder.before):
            started = time.perf_counter()
            orders.place_order(request, clock)
            elapsed = time.perf_counter() - started
        template = recorder.last("TransactWriteItems")["TransactItems"]
        if place_first:
            floor = timed_place_floor(client, template, market, tag)
        if trial >= WARM_UP:
            pairs.append((elapsed * 1000, floor * 1000))
    ratios = sorted(p / f for p, f in pairs)
    quartiles = statistics.quantiles(ratios, n=4)
    return {"ms": statistics.median(p for p, _ in pairs), "floor": statistics.median(f for _, f in pairs),
            "ratio": statistics.median(ratios), "q1": quartiles[0], "q3": quartiles[2], "n": len(pairs)}


def timed_place_floor(client, template: list[dict], market: str, tag: str) -> float:
    writes = fresh_copy(client, template, tag)
    started = time.perf_counter()
    client.get_item(**market_get(market))
    client.transact_write_items(TransactItems=writes)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--depths", default=",".join(map(str, DEPTHS)))
    parser.add_argument("--in-memory", action="store_true", help="DynamoDB Local -inMemory (builds faster)")
    args = parser.parse_args()
    depths = tuple(int(d) for d in args.depths.split(","))
    from chalicelib.ledger import db
    from chalicelib.local.dynamodb_local import LocalDatabase

    if support.NO_DYNAMODB_LOCAL:
        print(f"# book_depth: skipped ({support.NO_DYNAMODB_LOCAL})")
        return
    begun = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, LocalDatabase(Path(tmp) / "ddb", support.free_port(),
                                                             jar=support.JAR, allow_fallback=False,
                                                             in_memory=args.in_memory) as database:
        clock = support.make_clock()
        with support.dynamodb_local_ledger(database.endpoint_url, clock):
            client = db.client()
            built = build(depths, clock)
            orders_written = sum(d // 2 * 2 for d in depths)
            print(f"# book_depth: {orders_written:,} resting orders in {len(depths)} markets written in {built:.1f} s "
                  f"({orders_written / built:,.0f} orders/s; BatchWriteItem, {WRITERS} threads, DynamoDB Local "
                  f"{'-inMemory' if args.in_memory else 'on disk'}): the order items placement writes, escrow locked "
                  "in bulk, not placed through the API: the depth of the book is what is measured", flush=True)
            trials = [Depth(d) for d in depths]
            for round_no in range(WARM_UP + args.rounds):
                shift = round_no % len(trials)
                for depth in trials[shift:] + trials[:shift]:
                    depth.trial(client, clock, settle_first=round_no % 2 == 0, keep=round_no >= WARM_UP)
            placement = placement_trials(client, clock, market_of(depths[0]), base_of(depths[0]), PLACEMENTS)
    print(f"# match_market of a buy crossing the best {CROSSED} asks; {args.rounds} paired trials per depth "
          f"(after {WARM_UP} warm-up rounds), depths interleaved, which of the pair goes first alternating")
    print("# floor = one consistent GetItem (market) + the settlement's first Query (top of a side, projected) + one "
          "TransactWriteItems of the commit's items on fresh keys; ratio = median of the paired ratios [p25-p75]")
    header = (f"| {'resting':>7} | {'items read':>10} | {'round trips':>11} | {'RCU':>5} | {'WCU':>5} "
              f"| {'tx items':>8} | {'match_market ms':>15} | {'floor ms (get+query+twi)':>26} "
              f"| {'ratio [p25-p75]':>17} |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    results = {}
    for depth in trials:
        s = results[depth.depth] = depth.summary()
        parts = f"{s['floor']:.1f} ({s['parts']['get']:.1f}+{s['parts']['query']:.1f}+{s['parts']['twi']:.1f})"
        spread = f"{s['ratio']:.2f} [{s['q1']:.2f}-{s['q3']:.2f}]"
        print(f"| {depth.depth:>7} | {s['items']:>10g} | {s['trips']:>11g} | {s['rcu']:>5g} | {s['wcu']:>5g} "
              f"| {s['tx_items']:>8g} | {s['ms']:>15.1f} | {parts:>26} | {spread:>17} |")
    worst = max(s["ratio"] for s in results.values())
    low, high = depths[0], depths[-1]
    drift = results[high]["ratio"] / results[low]["ratio"] - 1
    by_depth = {d.depth: d for d in trials}
    drift_low, drift_high = drift_interval(by_depth[low].ratios(), by_depth[high].ratios())
    print("ratio of the 10th percentiles (the least disturbed trials; for reference, not the target): "
          + ", ".join(f"{d:,}: {s['tenth']:.2f}x" for d, s in results.items()))
    print(f"target <= 1.5x the floor at every depth: {'met' if worst <= 1.5 else 'NOT met'} (worst {worst:.2f}x)")
    resolved = drift_high - drift_low < 0.20
    print(f"target ratio at {high:,} within 10 % of the ratio at {low}: "
          f"{'met' if abs(drift) <= 0.10 else 'NOT met'} ({drift:+.1%}; 95 % bootstrap interval "
          f"{drift_low:+.1%} to {drift_high:+.1%}" + ("" if resolved else
                                                     ": wider than the target's band, so at this load the "
                                                     "measurement cannot resolve 10 %") + ")")
    p = placement
    print(f"placement (orders.place_order, warm, {p['n']} paired trials): {p['ms']:.1f} ms beside GetItem + the same "
          f"TransactWriteItems {p['floor']:.1f} ms: {p['ratio']:.2f}x [{p['q1']:.2f}-{p['q3']:.2f}] "
          f"(target <= 1.3x: {'met' if p['ratio'] <= 1.3 else 'NOT met'})")
    print(f"(whole script {time.perf_counter() - begun:.1f} s)")
    for depth, s in results.items():
        _summary.record("book_depth", f"match_market at {depth:,} resting ({s['items']:g} items read, "
                        f"{s['trips']:g} round trips)", f"{s['ms']:.1f} ms", f"floor {s['floor']:.1f} ms",
                        s["ratio"], "<= 1.5x", s["ratio"] <= 1.5)
    _summary.record("book_depth", f"ratio at {high:,} vs ratio at {low} (drift 95 % interval {drift_low:+.0%} to "
                    f"{drift_high:+.0%})", f"{results[high]['ratio']:.2f}x",
                    f"{results[low]['ratio']:.2f}x", 1 + drift, "within 10 %", abs(drift) <= 0.10)
    _summary.record("book_depth", "placement (orders.place_order)", f"{p['ms']:.1f} ms",
                    f"GetItem + TransactWriteItems {p['floor']:.1f} ms", p["ratio"], "<= 1.3x", p["ratio"] <= 1.3)


if __name__ == "__main__":
    main()
