"""DynamoDB calls per route, per scheduler pass and per stream-handler batch, on in-process moto.

Sets up a small world (assets ZRX/WETH with token addresses, USDA with an algod asset_id, LTC/SGTK
with a converter pair, market ZRX-WETH, API keys
of alice and bob with deposits credited, resting orders on both sides, one settled match),
then calls every route registered in `app.app.routes` once through `chalice.test.Client`,
counting every botocore call made while it runs (tests/support.py intercepts
`BaseClient._make_api_call`). Prints a table; asserts nothing about the counts.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _moto import (  # noqa: E402
    ADMIN,
    ALGO_HOLDER,
    ALGOD_HEADERS,
    MARKET,
    USDA_ID,
    build_world,
    by_operation,
    place,
    support,
    token,
)


def requests_to_make(keys: dict[str, str], ids: dict[str, str]) -> list[tuple[str, str, dict, object]]:
    """(method, path, headers, json body or None) of one meaningful call per route."""
    alice, bob = token(keys["alice"]), token(keys["bob"])
    get_admin = {"Authorization": ADMIN["Authorization"]}
    return [
        # -- admin
        ("POST", "/admin/assets", ADMIN, {"name": "BENCH", "decimals": 2}),
        ("GET", "/admin/assets", get_admin, None),
        ("GET", "/admin/assets/ZRX", get_admin, None),
        ("POST", "/admin/markets", ADMIN, {"id": "BENCH-WETH", "base": "BENCH", "quote": "WETH"}),
        ("GET", "/admin/markets", get_admin, None),
        ("GET", f"/admin/markets/{MARKET}", get_admin, None),
        ("POST", "/admin/pairs", ADMIN, {"from_coin": "USDA", "to_coin": "WETH", "exchange_rate": "0.0005"}),
        ("GET", "/admin/pairs", get_admin, None),
        ("POST", "/admin/apikeys", ADMIN, {"account": "carol", "scopes": ["read"]}),
        ("GET", "/admin/apikeys?account=alice", get_admin, None),
        ("POST", "/admin/deposits", ADMIN, {"coin": "ZRX", "txid": "bench-1", "address": "carol", "amount": "1"}),
        ("GET", "/admin/deposits", get_admin, None),
        ("GET", "/admin/deposits/ZRX/fund-alice/0", get_admin, None),
        # -- Counterparty
        ("GET", "/addresses/alice/balances", {}, None),
        ("GET", "/assets/ZRX", {}, None),
        ("GET", "/assets/ZRX/balances", {}, None),
        ("GET", "/assets/ZRX/orders", {}, None),
        ("GET", f"/orders/{ids['resting_sell']}", {}, None),
        ("GET", f"/orders/{ids['settled_sell']}/matches?status=completed", {}, None),
        # -- algod
        ("GET", f"/v2/accounts/{ALGO_HOLDER}/assets/{USDA_ID}", ALGOD_HEADERS, None),
        # -- CoinBTR trading (orders that do not cross: they rest)
        ("POST", "/api/v1/trading/place/buylimit", bob, {"market": MARKET, "price": "0.3", "amount": "1"}),
        ("POST", "/api/v1/trading/place/selllimit", alice, {"market": MARKET, "price": "2.5", "amount": "1"}),
        ("POST", "/api/v1/trading/buylimit", bob, {"market": MARKET, "price": "0.31", "amount": "1"}),
        ("POST", "/api/v1/trading/selllimit", alice, {"market": MARKET, "price": "2.6", "amount": "1"}),
        ("POST", "/api/v1/trading/cancel", alice, {"id": ids["cancel0"]}),
        ("POST", "/api/v1/trading/cancel/buylimit", alice, {"id": ids["cancel1"]}),
        ("POST", "/api/v1/trading/cancel/selllimit", alice, {"id": ids["cancel2"]}),
        ("POST", "/api/v1/trading/cancelorder", alice, {"id": ids["cancel3"]}),
        ("GET", "/api/v1/trading/listopenorders", alice, None),
        ("POST", "/api/v1/trading/listopenorders", alice, {"market": MARKET}),
        ("GET", f"/api/v1/trading/getopenorder?id={ids['resting_sell']}", alice, None),
        ("POST", "/api/v1/trading/getopenorder", alice, {"id": ids["resting_sell"]}),
        ("GET", "/api/v1/trading/listtransactions", alice, None),
        ("POST", "/api/v1/trading/listtransactions", alice, {"market": MARKET}),
        ("GET", f"/api/v1/trading/gettransaction?id={ids['match']}", alice, None),
        ("POST", "/api/v1/trading/gettransaction", alice, {"id": ids["match"]}),
        ("GET", "/api/v1/wallet/user/profile", alice, None),
        ("GET", "/api/v1/user/session", alice, None),
        # -- CoinBTR wallet
        ("GET", "/api/v1/wallet/listbalances", alice, None),
        ("GET", "/api/v1/wallet/getbalance?coin=zrx", alice, None),
        ("GET", "/api/v1/wallet/getdepositaddress?coin=LTC", alice, None),
        ("POST", "/api/v1/wallet/getdepositaddress", alice, {"coin": "ltc"}),
        ("GET", "/api/v1/wallet/listdeposits", alice, None),
        ("POST", "/api/v1/wallet/withdraw", alice,
         {"coin": "ZRX", "address": "0x" + "11" * 20, "amount": "1"}),
        ("POST", "/api/v1/wallet/whithdraw", alice,
         {"coin": "ZRX", "address": "0x" + "11" * 20, "amount": "1"}),
        ("GET", "/api/v1/wallet/listwithdraws", alice, None),
        # -- CryptoToken Converter
        ("POST", "/api/convert", {}, {"from_coin": "LTC", "to_coin": "SGTK", "destination": "someguy123"}),
        ("GET", "/api/deposits", {}, None),
        ("GET", "/api/deposits?address=alice", {}, None),
        ("GET", "/api/deposits/1", {}, None),
        ("GET", "/api/conversions", {}, None),
        ("GET", "/api/pairs", {}, None),
        ("GET", "/api/pairs/1", {}, None),
        ("GET", "/api/coins", {}, None),
        ("GET", "/api/coins/LTC", {}, None),
        # -- 0x relayer / SRA v0, public routes
        ("GET", "/v0/markets", {}, None),
        ("GET", f"/v0/orderbook?pair={MARKET}", {}, None),
        ("GET", "/v0/token_pairs", {}, None),
        ("GET", "/v0/orders?makerTokenAddress=0x" + "a8" * 20, {}, None),
        ("POST", "/v0/fees", {}, {"exchangeContractAddress": "0x479cc461fecd078f766ecc58533d6f69580cf3ac",
                                  "maker": "0x" + "11" * 20, "taker": "0x" + "00" * 20,
                                  "makerTokenAddress": "0x" + "a8" * 20, "takerTokenAddress": "0x" + "c7" * 20,
                                  "makerTokenAmount": "100", "takerTokenAmount": "50",
                                  "expirationUnixTimestampSec": "9999999999", "salt": "1"}),
        ("GET", "/v0/auth/nonce?address=0x" + "11" * 20, {}, None),
        # -- CoinBTR public market data
        *[("GET", f"{prefix}/{path}", {}, None)
          for path in ("listbooks", f"getorderbook?market={MARKET}", f"gettiker?market={MARKET}",
                       f"get24hvolume?market={MARKET}", "getcurrencies")
          for prefix in ("/market", "/api/v1/market")],
    ]


class Calls:
    """Every botocore call made inside the block: (operation, table)."""

    def __enter__(self):
        self.calls: list[tuple[str, str]] = []
        self._hook = support.hook(lambda op, params: self.calls.append((op, params.get("TableName", ""))))
        self._hook.__enter__()
        return self

    def __exit__(self, *exc):
        return self._hook.__exit__(*exc)

    def row(self, method: str, path: str, status: str) -> tuple[str, str, str, int, str, str]:
        gets: dict[str, int] = {}
        for op, table in self.calls:
            if op == "GetItem":
                name = table.removeprefix("test-")
                gets[name] = gets.get(name, 0) + 1
        by_table = " ".join(f"{t}×{n}" for t, n in sorted(gets.items(), key=lambda kv: (-kv[1], kv[0])))
        return (method, path, status, len(self.calls), by_operation([op for op, _ in self.calls]), by_table)


def route_of(app, path: str) -> str | None:
    """The registered route pattern a concrete path matches."""
    path = path.split("?", 1)[0]
    parts = path.strip("/").split("/")
    for pattern in app.routes:
        pattern_parts = pattern.strip("/").split("/")
        if len(pattern_parts) == len(parts) and all(
                p.startswith("{") or p == c for p, c in zip(pattern_parts, parts, strict=True)):
            return pattern
    return None


def print_table(rows: list[tuple[str, str, str, int, str, str]]) -> None:
    width = max(len(r[1]) for r in rows)
    ops_width = max(len(r[4]) for r in rows)
    print(f"| {'method':<6} | {'path':<{width}} | {'status':>6} | {'calls':>5} | {'calls by operation':<{ops_width}} "
          f"| GetItem by table")
    print(f"|{'-' * 8}|{'-' * (width + 2)}|{'-' * 8}|{'-' * 7}|{'-' * (ops_width + 2)}|{'-' * 30}")
    for method, path, status, calls, ops, gets in rows:
        print(f"| {method:<6} | {path:<{width}} | {status:>6} | {calls:>5} | {ops:<{ops_width}} | {gets}")


def short(path: str) -> str:
    """Hex ids shortened so the table stays readable."""
    out = []
    for part in path.split("/"):
        head, sep, query = part.partition("?")
        if len(head) >= 64:
            head = head[:8] + "…"
        if "id=" in query and len(query) > 20:
            query = query[:11] + "…"
        out.append(head + sep + query)
    return "/".join(out)


def main() -> None:
    from chalice.test import Client

    import app
    from chalicelib.events import matcher, scheduler
    from chalicelib.ledger.models import Order

    clock = support.make_clock()
    started = time.perf_counter()
    with support.moto_ledger(clock), Client(app.app) as client:
        keys = build_world(client, clock)
        ids = {"resting_sell": place(client, keys["alice"], "sell", "2", "3")}
        place(client, keys["bob"], "buy", "0.4", "3")
        ids["settled_sell"] = place(client, keys["alice"], "sell", "0.5", "4")
        settled_buy = place(client, keys["bob"], "buy", "0.5", "4")
        ids["match"] = f"{ids['settled_sell']}_{settled_buy}"
        scheduler.run(clock)  # settles the crossed pair (the stream is not running in-process)
        for i in range(4):
            ids[f"cancel{i}"] = place(client, keys["alice"], "sell", str(3 + i), "1")

        rows, called = [], set()
        for method, path, headers, payload in requests_to_make(keys, ids):
            with Calls() as calls:
                response = client.http.request(method, path, headers=headers,
                                               body=json.dumps(payload).encode() if payload is not None else b"")
            called.add((route_of(app.app, path), method))
            rows.append(calls.row(method, short(path), str(response.status_code)))
        route_rows = list(rows)

        # -- one scheduler pass with nothing to do, then one with a deposit to credit and a crossed pair
        scheduler.run(clock)  # credits the deposit POSTed above: the next pass is idle
        with Calls() as calls:
            scheduler.run(clock)
        rows.append(calls.row("-", "scheduler pass (idle, 2 markets)", "-"))
        support.post(client, "/admin/deposits", {"coin": "WETH", "txid": "bench-2", "address": "bob", "amount": "1"})
        place(client, keys["alice"], "sell", "1", "1")
        place(client, keys["bob"], "buy", "1", "1")
        with Calls() as calls:
            report = scheduler.run(clock)
        rows.append(calls.row("-", f"scheduler pass (1 deposit, {report['fills']} fill)", "-"))

        # -- one stream batch: a synthetic INSERT of an order carrying book_key and market
        def insert_record(tx_hash: str, sequence: str) -> dict:
            order = Order.get(MARKET, tx_hash, consistent_read=True)
            image = {"market": {"S": order.market}, "tx_hash": {"S": order.tx_hash},
                     "book_key": {"S": order.book_key}, "status": {"S": order.status}}
            return {"eventID": sequence, "eventName": "INSERT", "eventSource": "aws:dynamodb",
                    "dynamodb": {"Keys": {"market": image["market"], "tx_hash": image["tx_hash"]},
                                 "NewImage": image, "SequenceNumber": sequence, "StreamViewType": "NEW_IMAGE"}}

        resting = place(client, keys["bob"], "buy", "0.2", "1")
        with Calls() as calls:
            matcher.handle({"Records": [insert_record(resting, "1")]}, clock)
        rows.append(calls.row("-", "stream batch: 1 INSERT, nothing crosses", "-"))
        place(client, keys["alice"], "sell", "1.5", "1")
        crossing = place(client, keys["bob"], "buy", "1.5", "1")
        with Calls() as calls:
            matcher.handle({"Records": [insert_record(crossing, "2")]}, clock)
        rows.append(calls.row("-", "stream batch: 1 INSERT crossing 1 resting order", "-"))

    print("# calls_per_route: DynamoDB calls per request on in-process moto (chalice.test.Client)")
    print("# world: ZRX/WETH/USDA, market ZRX-WETH + BENCH-WETH (created by the POST below), "
          "alice/bob API keys, ~10 resting orders, 1 settled match\n")
    print_table(rows)
    registered = {(path, method) for path, methods in app.app.routes.items() for method, entry in methods.items()
                  if not getattr(entry.view_function, "framework_route", False)}  # not the 405s and the catch-all
    skipped = sorted(registered - called)
    print(f"\nroutes registered: {len(registered)} (path, method); called: {len(registered & called)}; "
          f"skipped: {', '.join(f'{m} {p}' for p, m in skipped) or 'none'}")
    busiest = max(route_rows, key=lambda r: r[3])
    print(f"route with the most calls: {busiest[0]} {busiest[1]}: {busiest[3]} ({busiest[4]}; GetItem {busiest[5]})")
    print(f"calls over all {len(route_rows)} route calls: {sum(r[3] for r in route_rows)}, of which GetItem "
          f"{sum(int(op.split('=')[1]) for r in route_rows for op in r[4].split() if op.startswith('GetItem='))}")
    print(f"(whole script {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
