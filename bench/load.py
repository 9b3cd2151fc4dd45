"""Bounded load on the local stack: CoinBTR clients placing and cancelling orders.

    python bench/load.py                      # starts the stack itself (like the e2e test)
    python bench/load.py --url http://127.0.0.1:8000 --ddb http://127.0.0.1:8010   # a running `make run`

N client threads (`--clients`, default 8), each with its own funded API-key account, place
buy/sell limit orders around a price of 1 on `--markets` markets (default 3; every market
has its own base asset and one shared quote asset) and cancel some of their resting orders,
for `--seconds` (default 30), then stop by themselves. Prints throughput (requests/s,
orders/s, fills), p50/p99 latency per operation and the count of each status code; then,
with the models pointed at the stack's DynamoDB (`models.configure`), runs the ledger audit
and checks that no book is crossed (each market's open book, as `settlement.read_open_orders`
reads it, matched by `matching.match_orders`, gives no fill; the stream matcher is given a
few seconds to finish first). Only loopback traffic; asserts nothing (exit 0), just prints.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from match_latency import ADMIN_TOKEN, Stack, call_json, percentile  # noqa: E402

from bench import _summary  # noqa: E402

# The same load on the code before issue 11 (stop 7's landed code, 8 clients, 3 markets, 30 s;
# recorded in bench/README.md, not measured by this run): the "before" of the summary.
BEFORE = {"orders/s": 28.6, "place": (155.2, 388.2), "cancel": (190.7, 512.5)}
QUOTE = "LOADQ"
FUNDS = "1000000"  # of each asset, per account
SETTLE_WAIT = 20.0  # seconds the stream matcher gets to finish before the crossed-book check


def loopback_only(url: str) -> str:
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise SystemExit(f"{url}: only loopback addresses (127.0.0.0/8, localhost, ::1) are load-tested")
    return url.rstrip("/")


class Api:
    def __init__(self, url: str, admin_token: str):
        self.url, self.admin_token = url, admin_token

    def call(self, method: str, path: str, payload=None, *, key: str | None = None, admin: bool = False,
             timeout: float = 30.0) -> tuple[int, object]:
        return call_json(self.url, method, path, payload, admin_token=self.admin_token if admin else None,
                         key=key, timeout=timeout)


def setup(api: Api, run: str, markets: int, clients: int) -> tuple[list[str], list[str]]:
    """Assets, markets, funded accounts with keys; returns (market ids, keys)."""
    def need(result, what):
        status, body = result
        if status not in (200, 201, 409):
            raise SystemExit(f"{what}: HTTP {status}: {body}")
        return body

    need(api.call("POST", "/admin/assets", {"name": QUOTE, "decimals": 8}, admin=True), "quote asset")
    market_ids = []
    for m in range(markets):
        base = f"LOAD{m}"
        need(api.call("POST", "/admin/assets", {"name": base, "decimals": 8}, admin=True), base)
        need(api.call("POST", "/admin/markets", {"id": f"{base}-{QUOTE}", "base": base, "quote": QUOTE,
                                                 "fee": "0.001"}, admin=True), "market")
        market_ids.append(f"{base}-{QUOTE}")
    keys, accounts = [], []
    for c in range(clients):
        account = f"load-{run}-{c}"
        spec = {"public": True, "account": account, "scopes": ["read", "trade"]}  # its balances are read below
        keys.append(need(api.call("POST", "/admin/apikeys", spec, admin=True), "api key")["key"])
        accounts.append(account)
        for coin in [QUOTE, *(m.split("-")[0] for m in market_ids)]:
            need(api.call("POST", "/admin/deposits", {"coin": coin, "txid": f"load-{run}-{c}-{coin}",
                                                      "address": account, "amount": FUNDS}, admin=True), "deposit")
    deadline = time.monotonic() + 60
    for account in accounts:  # the scheduler credits deposits (every LAMBDEX_SCHEDULE_INTERVAL)
        while True:
            status, rows = api.call("GET", f"/addresses/{account}/balances")
            if status == 200 and len(rows) == markets + 1:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"the deposits of {account} were not credited within 60 s")
            time.sleep(0.5)
    return market_ids, keys


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.placed = 0

    def record(self, operation: str, seconds: float, status: int, placed: bool = False) -> None:
        with self.lock:
            self.latency[operation].append(seconds)
            self.statuses[operation][status] += 1
            self.placed += placed


def client(api: Api, key: str, market_ids: list[str], stop_at: float, stats: Stats, seed: int) -> None:
    rng = random.Random(seed)
    resting: list[str] = []
    while time.monotonic() < stop_at:
        if resting and rng.random() < 0.35:
            order_id = resting.pop(rng.randrange(len(resting)))
            started = time.perf_counter()
            status, _ = api.call("POST", "/api/v1/trading/cancel", {"id": order_id}, key=key)
            stats.record("cancel", time.perf_counter() - started, status)
            continue
        side = rng.choice(("buy", "sell"))
        price = f"{rng.randint(95, 105) / 100:.2f}"  # buys and sells overlap: some cross
        body = {"market": rng.choice(market_ids), "price": price, "amount": str(rng.randint(1, 5))}
        started = time.perf_counter()
        status, answer = api.call("POST", f"/api/v1/trading/place/{side}limit", body, key=key)
        stats.record("place", time.perf_counter() - started, status, placed=status == 200)
        if status == 200:
            resting.append(answer["data"]["id"])
            del resting[:-50]


def configure_models(ddb: str, prefix: str) -> None:
    import os

    for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ.setdefault(name, value)
    os.environ["LAMBDEX_DYNAMODB_ENDPOINT"] = ddb
    os.environ["LAMBDEX_TABLE_PREFIX"] = prefix
    from chalicelib.ledger.models import configure

    configure(endpoint=ddb, prefix=prefix)


def crossed_fills(market_id: str) -> int:
    """Fills the open book of `market_id` would still give (0: not crossed)."""
    from chalicelib.ledger.clock import current
    from chalicelib.ledger.markets import fee_rate, get_market
    from chalicelib.ledger.matching import match_orders
    from chalicelib.ledger.settlement import read_open_orders

    market = get_market(market_id, consistent=True)
    book = read_open_orders(market.id, current())
    excluded = frozenset(frozenset((o.tx_hash, other)) for o in book for other in o.expired_with or ())
    return len(match_orders(book, fee_rate(market), excluded).fills)  # book entries are BookOrders


def fills_since(market_ids: list[str], since_us: int) -> int:
    from chalicelib.ledger.models import OrderMatch

    return sum(1 for m in market_ids for _ in OrderMatch.by_market.query(m, OrderMatch.time_us >= since_us))


def report(stats: Stats, seconds: float, fills: int) -> bool:
    requests = sum(len(v) for v in stats.latency.values())
    print(f"\nload: {requests} requests in {seconds:.1f} s = {requests / seconds:.1f} requests/s; "
          f"{stats.placed} orders placed = {stats.placed / seconds:.1f} orders/s; {fills} fills")
    print(f"{'operation':<10}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}   statuses")
    any_5xx = False
    for operation in sorted(stats.latency):
        values = stats.latency[operation]
        statuses = dict(sorted(stats.statuses[operation].items()))
        any_5xx |= any(s >= 500 or s == 0 for s in statuses)
        print(f"{operation:<10}{len(values):>8}{percentile(values, 50) * 1000:>10.1f}"
              f"{percentile(values, 99) * 1000:>10.1f}{max(values) * 1000:>10.1f}   {statuses}")
    return any_5xx


def summarise(stats: Stats, seconds: float, args, audit_ok: bool, crossed: dict, any_5xx: bool) -> None:
    shape = f"{args.clients} clients, {args.markets} markets, {args.seconds:g} s"
    _summary.record("load", f"orders/s ({shape})", f"{stats.placed / seconds:.1f}",
                    f"before: {BEFORE['orders/s']} (recorded, not this run)")
    for operation in ("place", "cancel"):
        values = stats.latency.get(operation)
        if values:
            p50, p99 = BEFORE[operation]
            _summary.record("load", f"{operation} p50 / p99 ms", f"{percentile(values, 50) * 1000:.1f} / "
                            f"{percentile(values, 99) * 1000:.1f}", f"before: {p50} / {p99} (recorded)")
    _summary.record("load", "audit, crossed books, 5xx after the load",
                    f"{'OK' if audit_ok else 'FAILED'}, {len(crossed)} crossed, {'5xx' if any_5xx else 'no 5xx'}",
                    target="audit OK, none crossed, no 5xx", met=audit_ok and not crossed and not any_5xx)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running stack (loopback only); default: start one")
    parser.add_argument("--ddb", default="http://127.0.0.1:8010", help="its DynamoDB endpoint (with --url)")
    parser.add_argument("--prefix", default="lambdex-local", help="its table prefix (with --url)")
    parser.add_argument("--admin-token", default="local-admin-token", help="its admin token (with --url)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--markets", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    if not (1 <= args.clients <= 64 and 1 <= args.markets <= 20 and 0 < args.seconds <= 600):
        raise SystemExit("keep it bounded: 1-64 clients, 1-20 markets, at most 600 seconds")

    stack = None
    temp = None
    if args.url:
        api, ddb = Api(loopback_only(args.url), args.admin_token), loopback_only(args.ddb)
    else:
        temp = tempfile.TemporaryDirectory(prefix="lambdex-load-")
        (Path(temp.name) / "ddb").mkdir()
        stack = Stack(Path(temp.name) / "ddb")
        print(f"starting the stack on {stack.url} (DynamoDB Local on {stack.ddb_url}) ...", flush=True)
        stack.start(time.perf_counter() + 90)
        api, ddb = Api(stack.url, ADMIN_TOKEN), stack.ddb_url
    try:
        configure_models(ddb, args.prefix)
        run = f"{int(time.time())}"
        market_ids, keys = setup(api, run, args.markets, args.clients)
        print(f"{args.clients} clients on {', '.join(market_ids)} for {args.seconds:g} s ...", flush=True)
        stats = Stats()
        since_us = int(time.time() * 1e6)
        started = time.monotonic()
        stop_at = started + args.seconds
        threads = [threading.Thread(target=client, args=(api, key, market_ids, stop_at, stats, i), daemon=True)
                   for i, key in enumerate(keys)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.seconds + 60)
        elapsed = time.monotonic() - started

        crossed: dict[str, int] = {}
        deadline = time.monotonic() + SETTLE_WAIT
        while True:  # the stream matcher may still be working through the last orders
            crossed = {m: n for m in market_ids if (n := crossed_fills(m))}
            if not crossed or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        any_5xx = report(stats, elapsed, fills_since(market_ids, since_us))
        from chalicelib.admin.audit import audit

        result = audit()
        print(result.summary().splitlines()[0] + ("" if result.ok else "\n" + result.summary()))
        print("books crossed: " + (", ".join(f"{m} ({n} fills pending)" for m, n in crossed.items())
                                   if crossed else f"none of {len(market_ids)}"))
        print(f"5xx (or no answer): {'YES' if any_5xx else 'none'}")
        print("(limit prices 0.95-1.05, amounts 1-5 coins, 35% of requests cancel a random own order: "
              "a 400 there is an order already filled)")
        summarise(stats, elapsed, args, result.ok, crossed, any_5xx)
    finally:
        if stack is not None:
            stack.stop()
        if temp is not None:
            temp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
