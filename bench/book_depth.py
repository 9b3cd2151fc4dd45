"""Settlement cost against book depth, and placement, on DynamoDB Local, beside the floor.

For resting books of 10, 1,000 and 10,000 orders (half bids below 0.99, half asks from 1.00
up; written with BatchWriteItem, 25 per call), TRIALS times: a buy that crosses the best
CROSSED asks is placed (not timed), then `settlement.match_market` settles it (timed). After
each trial the asks it took are written again, so every trial sees the same book. Printed
per depth: items read, round trips, read capacity consumed (ConsumedCapacity of the Queries),
the settling transaction's item count, and the median `match_market` time beside the floor
measured right after each trial on the same endpoint: one consistent GetItem (the market) +
one bounded Query (the best 4 asks, projected) + one TransactWriteItems of the same items the
settlement wrote, unconditional and aimed at fresh keys of the same tables (so the same
index maintenance). The ratio is the median of the per-trial ratios. Targets (issue 11): <= 1.5x the floor at every
depth; the ratio at 10,000 within 10 % of the ratio at 10.

Placement: `orders.place_order` (warm caches) beside one GetItem + one TransactWriteItems of
the same items on fresh keys; target <= 1.3x.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import environment, support  # noqa: E402,F401  (the environment before the models)

DEPTHS = (10, 1_000, 10_000)
TRIALS = 15
CROSSED = 3  # asks each incoming buy takes
MAKERS = 10
MARKET = "ZRX-WETH"


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


class Calls:
    """Round trips made inside the block (every botocore call)."""

    def __init__(self) -> None:
        self.count = 0
        self.capacity = 0.0

    def before(self, operation: str, params: dict) -> None:
        self.count += 1

    def __enter__(self):
        self._hook = support.hook(self.before)
        self._hook.__enter__()
        return self

    def __exit__(self, *exc):
        self._hook.__exit__(*exc)


def ask(i: int, maker: str, tx_index: int):
    from chalicelib.ledger.stores.orders import BookEntry, book_key

    give, get = 1000, 1000 + i  # 1 ZRX at 1.000 + i/1000 WETH (in base units of 3 decimals)
    tx_hash = f"{tx_index:064x}"
    return BookEntry(tx_hash=tx_hash, tx_index=tx_index, source=maker, give_asset="ZRX", give_quantity=give,
                     give_remaining=give, get_asset="WETH", get_quantity=get, get_remaining=get, market=MARKET,
                     side="sell", expires_at=4_000_000_000, book_key=book_key("sell", give, get, tx_index, tx_hash),
                     block_index=1, expiration=8064)


def bid(i: int, maker: str, tx_index: int):
    from chalicelib.ledger.stores.orders import BookEntry, book_key

    give, get = 990 - i % 900, 1000  # 1 ZRX at 0.990 - ... WETH
    tx_hash = f"{tx_index:064x}"
    return BookEntry(tx_hash=tx_hash, tx_index=tx_index, source=maker, give_asset="WETH", give_quantity=give,
                     give_remaining=give, get_asset="ZRX", get_quantity=get, get_remaining=get, market=MARKET,
                     side="buy", expires_at=4_000_000_000, book_key=book_key("buy", give, get, tx_index, tx_hash),
                     block_index=1, expiration=8064)


def build(depth: int, clock) -> None:
    from chalicelib.ledger import assets, markets, settlement
    from chalicelib.ledger.models import Balance

    assets.create_asset(assets.Asset("ZRX", decimals=3), clock)
    assets.create_asset(assets.Asset("WETH", decimals=3), clock)
    markets.create_market(MARKET, "ZRX", "WETH", Fraction(0), clock)
    # The resting orders are written directly (no placement), so their escrow is too.
    for m in range(MAKERS):
        Balance(f"maker{m}", "ZRX", locked=10**12).save()
        Balance(f"bidder{m}", "WETH", locked=10**12).save()
    Balance("taker", "WETH", available=10**15).save()
    entries = []
    for i in range(depth // 2):
        entries.append(ask(i, f"maker{i % MAKERS}", 1_000 + 2 * i))
        entries.append(bid(i, f"bidder{i % MAKERS}", 1_001 + 2 * i))
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:  # BatchWriteItem calls, 25 orders each, 4 at a time
        list(pool.map(settlement.book.add, [entries[i:i + 500] for i in range(0, len(entries), 500)]))


def scratch_copy(items: list[dict], trial: int) -> list[dict]:
    """The settlement's own transaction items, unconditional and aimed at fresh keys of the
    same tables (so the same index maintenance): the database's cost of that write."""
    import copy

    out = []
    for entry in copy.deepcopy(items):
        (action, request), = entry.items()
        request.pop("ConditionExpression", None)
        values = request.get("ExpressionAttributeValues", {})
        names = request.get("ExpressionAttributeNames", {})
        used = " ".join(request.get(k, "") for k in ("UpdateExpression",))
        for key in [k for k in values if k not in used]:
            values.pop(key)
        for key in [k for k in names if k not in used]:
            names.pop(key)
        if not values:
            request.pop("ExpressionAttributeValues", None)
        if not names:
            request.pop("ExpressionAttributeNames", None)
        target = request.get("Key") or request.get("Item")
        for name in ("id", "tx_hash", "address", "name"):
            if name in target and "S" in target[name]:
                target[name] = {"S": f"floor{trial}-{target[name]['S']}"}
        if "Key" in request and "market" in request["Key"]:
            request["Key"]["market"] = {"S": "FLOOR-MARKET"}
        out.append({action: request})
    return out


def settle_trials(depth: int, clock) -> dict:
    from chalicelib.ledger import db, orders, settlement
    from chalicelib.ledger.models import Market, Order
    from chalicelib.ledger.stores.orders import _NAMES, _PROJECTION

    client = db.client()
    times, items, trips, capacity, tx_items = [], [], [], [], []
    get, query, write = [], [], []
    next_index = 10**9
    for trial in range(TRIALS):
        clock.advance(0.01)
        price_total = (1000 + CROSSED - 1) * CROSSED  # its limit is the price of the last ask it takes
        orders.place_order(orders.OrderRequest("taker", "WETH", price_total, "ZRX", CROSSED * 1000), clock)
        settlement.book.stats.reset()
        written: list[list[dict]] = []

        def keep(op: str, params: dict, written=written) -> None:
            if op == "TransactWriteItems":
                written.append(params["TransactItems"])

        with Calls() as calls, support.hook(keep):
            started = time.perf_counter()
            report = settlement.match_market(MARKET, clock)
            times.append(time.perf_counter() - started)
        assert report.fills == CROSSED, report
        items.append(settlement.book.stats.items)
        trips.append(calls.count)
        capacity.append(settlement.book.stats.capacity)
        tx_items.append(sum(len(t) for t in written))
        # The floor, right after (the machine's load changes by the second): the same calls
        # a settlement cannot avoid, one of each.
        started = time.perf_counter()
        client.get_item(TableName=Market.Meta.table_name, Key={"id": {"S": MARKET}}, ConsistentRead=True)
        get.append(time.perf_counter() - started)
        started = time.perf_counter()
        client.query(TableName=Order.Meta.table_name, IndexName="book", ConsistentRead=True, Limit=4,
                     KeyConditionExpression="#a0 = :m AND begins_with(#a15, :s)",
                     ProjectionExpression=_PROJECTION, ExpressionAttributeNames=_NAMES,
                     ExpressionAttributeValues={":m": {"S": MARKET}, ":s": {"S": "S#"}})
        query.append(time.perf_counter() - started)
        replay = scratch_copy(written[-1], trial)
        started = time.perf_counter()
        client.transact_write_items(TransactItems=replay)
        write.append(time.perf_counter() - started)
        next_index += 10
        settlement.book.add([ask(i, f"maker{i % MAKERS}", next_index + i) for i in range(CROSSED)])
    floor = {"get": median_ms(get), "query": median_ms(query), "twi": median_ms(write)}
    floor["ms"] = floor["get"] + floor["query"] + floor["twi"]
    per_trial_floor = [g + q + w for g, q, w in zip(get, query, write, strict=True)]
    ratios = [t / f for t, f in zip(times, per_trial_floor, strict=True)]
    return {"ms": median_ms(times), "items": statistics.median(items), "trips": statistics.median(trips),
            "rcu": statistics.median(capacity), "tx_items": int(statistics.median(tx_items)), "floor": floor,
            "ratio": statistics.median(ratios)}


def placement_trials(clock) -> tuple[float, float]:
    from chalicelib.ledger import db, orders
    from chalicelib.ledger.models import Balance, Market

    Balance("placer", "ZRX", available=10**12).save()
    orders.place_order(orders.OrderRequest("placer", "ZRX", 1000, "WETH", 5000), clock)  # warm the caches
    place, floor = [], []
    client = db.client()
    for trial in range(TRIALS * 2):
        clock.advance(0.01)
        request = orders.OrderRequest("placer", "ZRX", 1000, "WETH", 5000 + trial)  # asks far above the book
        written: list[list[dict]] = []

        def keep(op: str, params: dict, written=written) -> None:
            if op == "TransactWriteItems":
                written.append(params["TransactItems"])

        with support.hook(keep):
            started = time.perf_counter()
            orders.place_order(request, clock)
            place.append(time.perf_counter() - started)
        replay = scratch_copy(written[-1], 1000 + trial)
        started = time.perf_counter()
        client.get_item(TableName=Market.Meta.table_name, Key={"id": {"S": MARKET}}, ConsistentRead=True)
        client.transact_write_items(TransactItems=replay)
        floor.append(time.perf_counter() - started)
    return median_ms(place), median_ms(floor)


def main() -> None:
    from chalicelib.local.dynamodb_local import LocalDatabase

    if support.NO_DYNAMODB_LOCAL:
        print(f"# book_depth: skipped ({support.NO_DYNAMODB_LOCAL})")
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp, LocalDatabase(Path(tmp) / "ddb", support.free_port(),
                                                             jar=support.JAR, allow_fallback=False) as database:
        placement = None
        for depth in DEPTHS:
            clock = support.make_clock()
            with support.dynamodb_local_ledger(database.endpoint_url, clock):
                started = time.perf_counter()
                build(depth, clock)
                built = time.perf_counter() - started
                settled = settle_trials(depth, clock)
                rows.append((depth, built, settled, settled["floor"]))
                if placement is None:
                    placement = placement_trials(clock)
    print("# book_depth: match_market for a buy crossing the best 3 asks, on DynamoDB Local "
          f"(medians of {TRIALS} trials)")
    print("# floor = one consistent GetItem + one bounded Query (4 items, projected) + one TransactWriteItems "
          "of the same items on fresh keys, measured right after each trial")
    header = (f"| {'resting':>7} | {'build s':>7} | {'items read':>10} | {'round trips':>11} | {'RCU read':>8} "
              f"| {'tx items':>8} | {'match_market ms':>15} | {'floor ms (get+query+twi)':>26} | {'ratio':>5} |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    ratios = {}
    for depth, built, settled, floor in rows:
        ratio = settled["ratio"]  # the median of per-trial ratios (each trial beside its own floor)
        ratios[depth] = ratio
        parts = f"{floor['ms']:.1f} ({floor['get']:.1f}+{floor['query']:.1f}+{floor['twi']:.1f})"
        print(f"| {depth:>7} | {built:>7.1f} | {settled['items']:>10g} | {settled['trips']:>11g} "
              f"| {settled['rcu']:>8g} | {settled['tx_items']:>8} | {settled['ms']:>15.1f} | {parts:>26} "
              f"| {ratio:>5.2f} |")
    worst = max(ratios.values())
    drift = ratios[DEPTHS[-1]] / ratios[DEPTHS[0]] - 1
    print(f"target <= 1.5x the floor at every depth: {'met' if worst <= 1.5 else 'NOT met'} (worst {worst:.2f}x)")
    print(f"target ratio at {DEPTHS[-1]:,} within 10 % of the ratio at {DEPTHS[0]}: "
          f"{'met' if abs(drift) <= 0.10 else 'NOT met'} ({drift:+.1%})")
    place_ms, floor_ms = placement
    print(f"placement (orders.place_order, warm): {place_ms:.1f} ms beside GetItem + the same TransactWriteItems "
          f"{floor_ms:.1f} ms: {place_ms / floor_ms:.2f}x (target <= 1.3x: "
          f"{'met' if place_ms / floor_ms <= 1.3 else 'NOT met'})")


if __name__ == "__main__":
    main()
