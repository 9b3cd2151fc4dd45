"""Write cost of placing an order and of settling an incoming order against K resting orders.

On in-process moto, for K = 1, 5, 15, 30 resting sells (each 1 ZRX at 0.5 WETH), an incoming
buy of K ZRX at 0.5 is placed through the CoinBTR route, then settled by the stream handler
(`chalicelib.events.matcher.handle`) given a synthetic INSERT record of that buy. Two kinds of
book: K resting orders of K distinct makers (the worst case: 2 balance items per maker), and K
resting orders of one maker. Every botocore call is intercepted (tests/support.py) to count
round trips by operation, transactional items, and write capacity:

* WCU (request): AWS's rule for TransactWriteItems, 2 WCU per item per started KB of item size
  (PutItem/UpdateItem outside a transaction: 1 WCU per started KB), the size computed from the
  request alone: the sum over attributes of the UTF-8 name length plus the value's size (string:
  UTF-8 bytes; number: ceil(significant digits / 2) + 1; boolean/null: 1; list/map: 3 + 1 per
  element + the elements). A Put counts its whole Item; an Update its Key plus every attribute
  its SET/ADD clauses assign; a ConditionCheck/Delete its Key.
* WCU (stored): what AWS actually bills: the larger of the stored item before and after the
  write (read back with GetItem around the call; those reads are not counted as round trips).

Prints figures and whether each K met the issue's target; asserts nothing.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _summary  # noqa: E402
from _moto import MARKET, body, build_world, support, token  # noqa: E402  (sets the environment first)

KS = (1, 5, 15, 30)
TARGET = ("one consistent read of the book (the top of each side, two Queries sent at once, plus one range "
          "Query of the crossing region when more than 4 orders of a side cross) plus one "
          "TransactWriteItems per incoming order that fills against up to 15 resting orders")


# -- item size, as AWS documents it --------------------------------------------------------

def number_size(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if digits != (0,) else 1
    return math.ceil(significant / 2) + 1


def value_size(value: dict) -> int:
    (kind, content), = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        return number_size(content)
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS",):
        return sum(len(s.encode()) for s in content)
    if kind == "NS":
        return sum(number_size(n) for n in content)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in content)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in content.items())
    raise ValueError(kind)


def item_size(item: dict) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


_ASSIGN = re.compile(r"(#\w+)\s*=?\s*(:\w+)")


def request_size(action: str, request: dict) -> int:
    """Bytes of the item as the write request describes it (see the module docstring)."""
    if action == "Put":
        return item_size(request["Item"])
    size = item_size(request["Key"])
    if action == "Update":
        names, values = request.get("ExpressionAttributeNames", {}), request.get("ExpressionAttributeValues", {})
        clauses = re.split(r"\b(SET|REMOVE|ADD|DELETE)\b", request["UpdateExpression"])
        for keyword, text in zip(clauses[1::2], clauses[2::2], strict=True):
            if keyword in ("SET", "ADD"):
                for name, value in _ASSIGN.findall(text):
                    size += len(names.get(name, name).encode()) + value_size(values[value])
    return size


def wcu(size: int, transactional: bool) -> int:
    return (2 if transactional else 1) * max(1, math.ceil(size / 1024))


# -- metering every call ------------------------------------------------------------------

class Meter:
    """Round trips by operation and the write cost of every write made inside the block."""

    def __init__(self) -> None:
        from chalicelib.ledger import db

        self.client = db.client()
        self.ops: Counter[str] = Counter()
        self.book_queries = 0
        self.tx_items = 0
        self.tx_sizes: list[int] = []
        self.wcu_request = 0
        self.wcu_stored = 0
        self._busy = threading.local()
        self._before: list[int] = []

    def _keys_of(self, operation: str, params: dict) -> list[tuple[str, dict, str, dict]]:
        if operation == "TransactWriteItems":
            out = []
            for entry in params["TransactItems"]:
                (action, request), = entry.items()
                key = request.get("Key") or self._key_of_item(request["TableName"], request["Item"])
                out.append((action, request, request["TableName"], key))
            return out
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            action = {"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete"}[operation]
            key = params.get("Key") or self._key_of_item(params["TableName"], params["Item"])
            return [(action, params, params["TableName"], key)]
        return []

    _schemas: dict[str, list[str]] = {}

    def _key_of_item(self, table: str, item: dict) -> dict:
        if table not in self._schemas:
            self._busy.on = True
            try:
                schema = self.client.describe_table(TableName=table)["Table"]["KeySchema"]
            finally:
                self._busy.on = False
            self._schemas[table] = [k["AttributeName"] for k in schema]
        return {name: item[name] for name in self._schemas[table]}

    def _stored(self, table: str, key: dict) -> int:
        self._busy.on = True
        try:
            item = self.client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        finally:
            self._busy.on = False
        return item_size(item) if item else 0

    def before(self, operation: str, params: dict) -> None:
        if getattr(self._busy, "on", False):
            return
        self.ops[operation] += 1
        if operation == "Query" and params.get("IndexName") == "book" and params.get("ConsistentRead"):
            self.book_queries += 1
        writes = self._keys_of(operation, params)
        transactional = operation == "TransactWriteItems"
        if transactional:
            self.tx_items += len(writes)
            self.tx_sizes += [request_size(action, request) for action, request, _, _ in writes]
        for action, request, _, _ in writes:
            self.wcu_request += wcu(request_size(action, request), transactional)
        self._before = [self._stored(table, key) for _, _, table, key in writes]

    def after(self, operation: str, params: dict, result: dict) -> None:
        if getattr(self._busy, "on", False):
            return
        writes = self._keys_of(operation, params)
        transactional = operation == "TransactWriteItems"
        for (_, _, table, key), before in zip(writes, self._before, strict=True):
            self.wcu_stored += wcu(max(before, self._stored(table, key)), transactional)

    def __enter__(self) -> Meter:
        self._hooks = [support.hook(self.before), support.after(self.after)]
        for h in self._hooks:
            h.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        for h in reversed(self._hooks):
            h.__exit__(*exc)

    def ops_text(self) -> str:
        return " ".join(f"{op}={n}" for op, n in sorted(self.ops.items(), key=lambda kv: (-kv[1], kv[0])))


# -- the scenarios ---------------------------------------------------------------------------

def insert_record(tx_hash: str) -> dict:
    from chalicelib.ledger.models import Order

    order = Order.get(MARKET, tx_hash, consistent_read=True)
    image = {"market": {"S": order.market}, "tx_hash": {"S": order.tx_hash}, "book_key": {"S": order.book_key}}
    return {"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": {"Keys": {"market": image["market"], "tx_hash": image["tx_hash"]}, "NewImage": image,
                         "SequenceNumber": "1", "StreamViewType": "NEW_IMAGE"}}


def scenario(client, clock, keys: dict[str, str], k: int, distinct_makers: bool) -> tuple[Meter, Meter, dict]:
    from chalicelib.events import matcher, scheduler
    from chalicelib.ledger import orders

    makers = [f"maker{i:02d}" if distinct_makers else "alice" for i in range(k)]
    for maker in sorted(set(makers) - {"alice"}):
        support.post(client, "/admin/deposits", {"coin": "ZRX", "txid": f"fund-{maker}", "address": maker,
                                                  "amount": "10"})
    scheduler.run(clock)
    for maker in makers:
        orders.place_order(orders.OrderRequest(source=maker, give_asset="ZRX", give_quantity=10**8,
                                               get_asset="WETH", get_quantity=5 * 10**7, dialect="coinbtr"),
                           clock)
    with Meter() as placing:
        response = client.http.post("/api/v1/trading/place/buylimit", headers=token(keys["bob"]),
                                    body=json.dumps({"market": MARKET, "price": "0.5", "amount": str(k)}))
    incoming = body(response)["data"]["id"]
    record = insert_record(incoming)
    with Meter() as settling:
        outcome = matcher.handle({"Records": [record]}, clock)
    status = body(client.http.get(f"/orders/{incoming}"))[0]["status"]
    return placing, settling, {"status": status, "failed": len(outcome["batchItemFailures"])}


def main() -> None:
    from chalice.test import Client

    import app

    started = time.perf_counter()
    rows = []
    for distinct in (True, False):
        for k in KS:
            clock = support.make_clock()
            with support.moto_ledger(clock), Client(app.app) as client:
                keys = build_world(client, clock)
                place_meter, settle_meter, outcome = scenario(client, clock, keys, k, distinct)
            rows.append((k, distinct, place_meter, settle_meter, outcome))

    print("# settlement_cost: round trips and write capacity on in-process moto")
    print(f"# target (from the issue): {TARGET}\n")
    place_meter = rows[0][2]
    print("placing one order (POST /api/v1/trading/place/buylimit, CoinBTR):")
    print(f"  round trips {sum(place_meter.ops.values())} ({place_meter.ops_text()}); transactional items "
          f"{place_meter.tx_items} (sizes {place_meter.tx_sizes} B); WCU request-based {place_meter.wcu_request}, "
          f"stored-item {place_meter.wcu_stored}\n")
    header = (f"| {'K':>2} | {'makers':<8} | {'round trips':>11} | {'by operation':<40} | {'book reads':>10} "
              f"| {'TWI':>3} | {'tx items':>8} | {'WCU req':>7} | {'WCU stored':>10} | {'max item B':>10} "
              f"| {'order':<6} | target met?")
    print("settling the incoming order (stream handler, 1 INSERT record):")
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|" + "-" * 13)
    within = []  # (K, met) for K <= 15: the target
    for k, distinct, _, meter, outcome in rows:
        reads = meter.book_queries  # the top of each side of the `book` LSI (2 Queries, sent at once)
        twi = meter.ops["TransactWriteItems"]
        extra = sum(meter.ops.values()) - meter.book_queries - twi
        if reads <= 3 and twi == 1:  # 2 tops (at once) + 1 range Query once more than 4 orders cross
            verdict = "yes" + (f" (plus {extra} other round trips: the market's seq)" if extra else "")
        else:
            verdict = f"no: {reads:g} book reads, {twi} TransactWriteItems, {extra} other round trips"
        if k > 15:
            verdict += " [K > 15: outside the target]"
        else:
            within.append(verdict.startswith("yes"))
        print(f"| {k:>2} | {'distinct' if distinct else 'one':<8} | {sum(meter.ops.values()):>11} "
              f"| {meter.ops_text():<40} | {reads:>10g} | {twi:>3} | {meter.tx_items:>8} | {meter.wcu_request:>7} "
              f"| {meter.wcu_stored:>10} | {max(meter.tx_sizes, default=0):>10} | {outcome['status']:<6} | {verdict}")
    print("\nbook reads: consistent Queries of the orders table's `book` LSI (the top 4 of each side, sent at "
          "once, then the crossing region by a key range, paged by 100); TWI: TransactWriteItems calls.")
    print(f"(whole script {time.perf_counter() - started:.1f} s)")
    _summary.record("settlement_cost", f"settling an order filling K = {', '.join(str(k) for k in KS if k <= 15)} "
                    "resting (distinct makers, one maker)", f"{sum(within)} of {len(within)} cases",
                    target="<= 3 book reads + 1 TransactWriteItems", met=all(within))


if __name__ == "__main__":
    main()
