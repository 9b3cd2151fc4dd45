"""The pure matcher beside `pyorderbook` 0.4.9 on one 100k-order flow, in one process.

The flow (seed 7): 100,000 limit orders, buy or sell with probability 1/2, price
100 + N(0, 2) rounded to 0.1 ticks, size 1-50 whole units, every order from its own
trader (pyorderbook has no self-trade prevention).

pyorderbook keeps `Decimal` prices and integer quantities; a buy or sell of `size` at
`price` fills min(remaining sizes) at the resting order's price. The same orders go to
`match_orders` as CoinBTR places them, in integer base units (8 decimals on both assets):
a sell gives `size` base for `size * price` quote (cap "give_all": it sells its whole size),
a buy gives `size * price` quote for `size` base (cap "get": it never receives more than
`size`, and what it saves at a better price is refunded); every fill is at the resting
price. That is the same textbook limit order book, so both must produce the same trades;
the script checks that trade by trade, checks that our quantities are exact integers at
the maker's price, and that the ledger balances (conservation, refunds).

Timed: the matching call only, on inputs built beforehand (pyorderbook's `Order`
objects, our `BookOrder`s), in ROUNDS alternating runs, each in CPU seconds of this
process (`time.process_time`: on a shared machine wall time mostly measures waiting for a
core; wall medians are printed too), with the garbage collector on as in production.
Building the inputs is timed separately. Figures only, no timing assertion; the exit code is non-zero
only if a consistency check fails.
"""

from __future__ import annotations

import logging
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyorderbook  # noqa: E402

from bench import _summary  # noqa: E402
from chalicelib.ledger.matching import BookOrder, MatchResult, match_orders  # noqa: E402

ORDERS = 100_000
SEED = 7
ROUNDS = 3
UNIT = 10**8  # base units per whole unit, both assets
TICK = UNIT // 10  # quote base units per 0.1 quote
BASE, QUOTE = "BASE", "QUOTE"

logging.getLogger("pyorderbook").setLevel(logging.WARNING)


def make_flow(n: int = ORDERS, seed: int = SEED) -> list[tuple[bool, int, int]]:
    """(is_buy, price in 0.1 ticks, size) per order, in arrival order."""
    rng = random.Random(seed)
    flow = []
    for _ in range(n):
        is_buy = rng.random() < 0.5
        ticks = round((100 + rng.gauss(0, 2)) * 10)
        flow.append((is_buy, ticks, rng.randint(1, 50)))
    return flow


def pyorderbook_orders(flow) -> list[pyorderbook.Order]:
    return [(pyorderbook.bid if is_buy else pyorderbook.ask)("X", ticks / 10, size) for is_buy, ticks, size in flow]


def book_orders(flow) -> list[BookOrder]:
    orders = []
    for i, (is_buy, ticks, size) in enumerate(flow):
        base, quote = size * UNIT, size * ticks * TICK
        if is_buy:
            orders.append(BookOrder(f"{i:08d}", i, f"t{i}", QUOTE, quote, quote, BASE, base, base, cap="get"))
        else:
            orders.append(BookOrder(f"{i:08d}", i, f"t{i}", BASE, base, base, QUOTE, quote, quote, cap="give_all"))
    return orders


def timed(fn, *args):
    """(CPU seconds, wall seconds, value)."""
    cpu, wall = time.process_time(), time.perf_counter()
    value = fn(*args)
    return time.process_time() - cpu, time.perf_counter() - wall, value


def run_pyorderbook(orders):
    return pyorderbook.Book().match(orders)


def check(flow, orders: list[BookOrder], result: MatchResult, blotters) -> list[str]:
    """Every consistency problem found (empty: all good)."""
    problems = []
    index = {o.tx_hash: i for i, o in enumerate(orders)}
    # 1. the same trades as pyorderbook, in the same order
    by_id = {}
    for i, blotter in enumerate(blotters):
        by_id[blotter.order.id] = i
    theirs = [(by_id[t.standing_order_id], by_id[t.incoming_order_id], t.fill_quantity,
               int(t.fill_price * 10)) for b in blotters for t in b.trades]
    if any(Decimal(ticks) / 10 != t.fill_price for (_, _, _, ticks), t in
           zip(theirs, (t for b in blotters for t in b.trades), strict=True)):
        problems.append("pyorderbook price not on a 0.1 tick")
    ours = []
    for f in result.fills:
        maker, taker = index[f.tx0_hash], index[f.tx1_hash]
        base, quote = ((f.forward_quantity, f.backward_quantity) if f.forward_asset == BASE
                       else (f.backward_quantity, f.forward_quantity))
        if not all(type(q) is int for q in (f.forward_quantity, f.backward_quantity, f.fee)):
            problems.append(f"non-integer quantity in {f}")
        if base % UNIT or quote * UNIT != base * flow[maker][1] * TICK:
            problems.append(f"fill not exactly at the maker's price: {f}")
        ours.append((maker, taker, base // UNIT, flow[maker][1]))
    if ours != theirs:
        pairs = enumerate(zip(ours, theirs, strict=False))
        first = next((i for i, (a, b) in pairs if a != b), min(len(ours), len(theirs)))
        problems.append(f"trades differ from pyorderbook ({len(ours)} vs {len(theirs)}; first difference at {first})")
    # 2. the ledger balances: what each order gave and got is what its outcome says
    gave, got = [0] * len(orders), [0] * len(orders)
    for f in result.fills:
        maker, taker = index[f.tx0_hash], index[f.tx1_hash]
        gave[maker] += f.forward_quantity
        got[taker] += f.forward_quantity
        gave[taker] += f.backward_quantity
        got[maker] += f.backward_quantity
    for i, o in enumerate(orders):
        out = result.outcomes.get(o.tx_hash)
        give_left, get_left = (o.give_remaining, o.get_remaining) if out is None else (out.give_remaining,
                                                                                      out.get_remaining)
        if give_left != o.give_quantity - gave[i] or get_left != o.get_quantity - got[i]:
            problems.append(f"order {o.tx_hash}: outcome does not match its fills")
        if o.cap == "get" and got[i] > o.get_quantity:
            problems.append(f"buy {o.tx_hash} received more than its amount")
        if out is not None and out.closed and out.refund != give_left:
            problems.append(f"order {o.tx_hash}: refund is not its remainder")
        if gave[i] * o.get_quantity > got[i] * o.give_quantity:
            problems.append(f"order {o.tx_hash} paid above its limit")
    for asset in (BASE, QUOTE):
        locked = sum(o.give_quantity for o in orders if o.give_asset == asset)
        left = sum((result.outcomes[o.tx_hash].give_remaining if o.tx_hash in result.outcomes else o.give_remaining)
                   for o in orders if o.give_asset == asset)
        moved = sum(gave[i] for i, o in enumerate(orders) if o.give_asset == asset)
        received = sum(got[i] for i, o in enumerate(orders) if o.get_asset == asset)
        if locked != left + moved or moved != received:
            problems.append(f"{asset}: conservation fails")
    return problems


def main() -> int:
    flow = make_flow()
    print(f"flow: {ORDERS} orders, seed {SEED}, {len({t for _, t, _ in flow})} price levels, "
          f"{sum(b for b, _, _ in flow)} buys; Python {sys.version.split()[0]}, pyorderbook {pyorderbook.__version__}")
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in ("pob", "ours", "pob_in", "ours_in")}
    result = blotters = ours_orders = None
    for _ in range(ROUNDS):
        cpu, wall, their_orders = timed(pyorderbook_orders, flow)
        runs["pob_in"].append((cpu, wall))
        cpu, wall, blotters = timed(run_pyorderbook, their_orders)
        runs["pob"].append((cpu, wall))
        cpu, wall, ours_orders = timed(book_orders, flow)
        runs["ours_in"].append((cpu, wall))
        cpu, wall, result = timed(match_orders, ours_orders)
        runs["ours"].append((cpu, wall))
    trades = sum(len(b.trades) for b in blotters)

    def best(name: str) -> float:
        return min(cpu for cpu, _ in runs[name])

    def median(name: str, wall: bool = False) -> float:
        return statistics.median(w if wall else c for c, w in runs[name])

    print(f"{'':34} {'CPU best s':>10} {'CPU median s':>12} {'wall median s':>13} {'orders/s (CPU best)':>20}")
    for name, label in (("pob", "pyorderbook Book.match"), ("ours", "lambdex match_orders"),
                        ("pob_in", "  building inputs: pyorderbook"), ("ours_in", "  building inputs: BookOrder")):
        print(f"{label:34} {best(name):10.3f} {median(name):12.3f} {median(name, wall=True):13.3f} "
              f"{ORDERS / best(name):20,.0f}")
    print(f"fills: ours {len(result.fills)}, pyorderbook {trades}; "
          f"orders closed {sum(o.closed for o in result.outcomes.values())}")
    print(f"throughput ratio match_orders / pyorderbook (CPU): best {best('pob') / best('ours'):.2f}x, "
          f"median {median('pob') / median('ours'):.2f}x (target >= 1.2x)")
    problems = check(flow, ours_orders, result, blotters)
    print("consistency: " + ("same trades as pyorderbook, exact integers at the maker's price, conservation holds"
                             if not problems else "; ".join(problems[:5])))
    ratio = median("pob") / median("ours")
    _summary.record("matcher_throughput", f"match_orders, {ORDERS:,} orders (CPU median)",
                    f"{ORDERS / median('ours'):,.0f} orders/s", f"pyorderbook {ORDERS / median('pob'):,.0f} orders/s",
                    ratio, ">= 1.2x, exact results", ratio >= 1.2 and not problems)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
