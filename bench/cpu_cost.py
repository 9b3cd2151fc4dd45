"""CPU per operation, database time excluded, and what it costs on Lambda.

Two operations, each a warm Lambda handler invoked in-process:

* placement: `POST /api/v1/trading/place/buylimit` (CoinBTR) through `chalice.test.Client`
  (the API Gateway proxy event into `app.app`), on a book of resting orders;
* settlement: the orders-stream handler (`events.matcher.handle`) given one INSERT record of
  a buy that crosses exactly F resting sells, on a book holding DEPTH resting orders per side
  that do not cross; per fill = per settlement / F.

Database time is excluded in two independent ways, printed side by side:

* DynamoDB Local (the main figure): the database is another process (a JVM), so this
  process's CPU time (`time.process_time`) around the handler is what the handler itself
  burns: the ledger, pydantic, PynamoDB, botocore serialising requests and parsing
  responses, the HTTP client. Waiting on DynamoDB costs no CPU here.
* in-process moto (a cross-check): the same, minus the CPU spent inside moto's request
  handler (`BotocoreStubber.__call__`, moto's side of every call: the "server").

Lambda bills duration, not CPU: a warm invocation is billed the handler's CPU time plus its
waits on DynamoDB (not included here; the DynamoDB round trips per operation are printed so
they can be added at the latency of the region), rounded up to 1 ms. And Lambda gives a
function CPU in proportion to its memory: one full vCPU at 1,769 MB (AWS's documentation),
so CPU-bound work at M MB < 1,769 MB runs about 1,769 / M times longer than on one full
core. Both models are printed: "full core" (duration = the CPU time measured here) and
"Lambda share" (duration = CPU time x 1,769 / M). Memory sizes come from
.chalice/config.json (the prod stage), prices are AWS's published x86 prices
(us-east-1): $0.0000166667 per GB-second, $0.20 per million requests.

Per million orders: one million API invocations (placements), and one settling stream
invocation per order whose every order fills once (F = 1; the stream delivers batches of up
to 100 records, so one invocation per order is the most there can be). Prints figures;
asserts nothing. The CPU of this machine is not Lambda's: the ratios matter more than the
milliseconds.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _summary  # noqa: E402
from _moto import MARKET, ROOT, body, build_world, support, token  # noqa: E402  (sets the environment first)

GB_SECOND_USD = 0.0000166667
REQUEST_USD = 0.20 / 1_000_000
FULL_VCPU_MB = 1769
WARM_UP = 10
PLACEMENTS = 100
ROUNDS = 20  # settlements measured per configuration (10 on the deep book: each reads all of it)
DEPTHS = (20, 200)
FILLS = (1, 5)


class Cpu:
    """This process's CPU time, less what ran inside moto's request handler (when moto serves)."""

    inside_moto = 0.0

    @classmethod
    def patch_moto(cls) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.__call__

        # Per-thread CPU: settlement sends its two book Queries from two threads at once, and
        # process-wide deltas of overlapping calls would count moto's work twice.
        def timed(self, *args, **kwargs):
            started = time.thread_time()
            try:
                return original(self, *args, **kwargs)
            finally:
                cls.inside_moto += time.thread_time() - started

        BotocoreStubber.__call__ = timed

    @classmethod
    def now(cls) -> float:
        return time.process_time() - cls.inside_moto


def place(client, key: str, side: str, price: str, amount: str) -> str:
    response = client.http.post(f"/api/v1/trading/place/{side}limit", headers=token(key),
                                body=json.dumps({"market": MARKET, "price": price, "amount": amount}))
    if response.status_code != 200:
        raise RuntimeError(f"place {side} -> {response.status_code}: {response.body!r}")
    return body(response)["data"]["id"]


def insert_record(tx_hash: str) -> dict:
    """The stream record of an order entering the book (the handler reads only these keys)."""
    image = {"market": {"S": MARKET}, "tx_hash": {"S": tx_hash}, "book_key": {"S": "B#"}}
    return {"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": {"Keys": {"market": image["market"], "tx_hash": image["tx_hash"]}, "NewImage": image,
                         "SequenceNumber": "1", "StreamViewType": "NEW_IMAGE"}}


def rest_book(client, keys: dict[str, str], depth: int) -> None:
    """`depth` sells at 0.9 and `depth` buys at 0.1: resting, never crossed."""
    for _ in range(depth):
        place(client, keys["alice"], "sell", "0.9", "1")
        place(client, keys["bob"], "buy", "0.1", "1")


def measure_placement(client, keys, placements: int) -> dict:
    rest_book(client, keys, 20)
    for _ in range(WARM_UP):
        place(client, keys["bob"], "buy", "0.2", "1")
    cpu, wall = [], []
    with support.count_calls() as calls:
        for i in range(placements):
            started, started_wall = Cpu.now(), time.perf_counter()
            place(client, keys["bob"], "buy", f"0.{2 + i % 5}", "1")
            cpu.append((Cpu.now() - started) * 1000)
            wall.append((time.perf_counter() - started_wall) * 1000)
    return {"cpu": cpu, "wall": wall, "calls": len(calls) / placements}


def measure_settlement(client, keys, clock, depth: int, fills: int, rounds: int) -> dict:
    from chalicelib.events import matcher

    rest_book(client, keys, depth)
    cpu, wall, calls_made = [], [], 0
    for round_number in range(WARM_UP // 2 + rounds):
        for _ in range(fills):
            place(client, keys["alice"], "sell", "0.5", "1")
        incoming = place(client, keys["bob"], "buy", "0.5", str(fills))
        with support.count_calls() as calls:
            started, started_wall = Cpu.now(), time.perf_counter()
            outcome = matcher.handle({"Records": [insert_record(incoming)]}, clock)
            spent, spent_wall = (Cpu.now() - started) * 1000, (time.perf_counter() - started_wall) * 1000
        if outcome["batchItemFailures"]:
            raise RuntimeError(f"settlement failed: {outcome}")
        status = body(client.http.get(f"/orders/{incoming}"))[0]["status"]
        if status != "filled":
            raise RuntimeError(f"the crossing buy is {status}, not filled")
        if round_number >= WARM_UP // 2:
            cpu.append(spent)
            wall.append(spent_wall)
            calls_made += len(calls)
    return {"cpu": cpu, "wall": wall, "calls": calls_made / rounds, "fills": fills, "depth": depth}


CONFIGURATIONS = ((DEPTHS[0], 1, ROUNDS), (DEPTHS[0], 5, ROUNDS), (DEPTHS[1], 1, ROUNDS // 2))


def measure_all(ledger, placements: int = PLACEMENTS, configurations=CONFIGURATIONS) -> dict:
    """Every measurement, each on a fresh ledger made by `ledger(clock)`."""
    from chalice.test import Client

    import app

    results = {}
    clock = support.make_clock()
    with ledger(clock), Client(app.app) as client:
        results["placement"] = measure_placement(client, build_world(client, clock, funds="100000000"), placements)
    for depth, fills, rounds in configurations:
        clock = support.make_clock()
        with ledger(clock), Client(app.app) as client:
            keys = build_world(client, clock, funds="100000000")
            results[("settle", depth, fills)] = measure_settlement(client, keys, clock, depth, fills, rounds)
    return results


def on_dynamodb_local() -> dict | None:
    if support.NO_DYNAMODB_LOCAL:
        print(f"# DynamoDB Local skipped: {support.NO_DYNAMODB_LOCAL}")
        return None
    from chalicelib.local.dynamodb_local import LocalDatabase

    with tempfile.TemporaryDirectory() as tmp, LocalDatabase(
            Path(tmp) / "data", support.free_port(), jar=support.JAR, allow_fallback=False) as database:
        return measure_all(lambda clock: support.dynamodb_local_ledger(database.endpoint_url, clock))


def on_moto() -> dict:
    Cpu.patch_moto()
    # Fewer and shallower: moto itself is slow (its Query of a 400-order book takes seconds).
    return measure_all(support.moto_ledger, PLACEMENTS // 2, [(DEPTHS[0], 1, ROUNDS // 2)])


def memory_sizes(stage: str = "prod") -> dict[str, int]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    default = config.get("lambda_memory_size", 128)
    stage_config = config.get("stages", {}).get(stage, {})
    default = stage_config.get("lambda_memory_size", default)
    functions = stage_config.get("lambda_functions", {})
    return {name: functions.get(name, {}).get("lambda_memory_size", default)
            for name in ("api_handler", "match_orders")}


def median(values: list[float]) -> float:
    return statistics.median(values)


def cost_lines(api_ms: float, match_ms: float, memory: dict[str, int]) -> tuple[list[str], dict[str, float]]:
    """The printed lines, and the dollars per million orders of each model."""
    lines, totals = [], {}
    for model, scale in (("full core", lambda mb: 1.0), ("Lambda share", lambda mb: max(1.0, FULL_VCPU_MB / mb))):
        api_s = api_ms / 1000 * scale(memory["api_handler"])
        match_s = match_ms / 1000 * scale(memory["match_orders"])
        api_gbs = api_s * memory["api_handler"] / 1024 * 1_000_000
        match_gbs = match_s * memory["match_orders"] / 1024 * 1_000_000
        api_usd = api_gbs * GB_SECOND_USD + 1_000_000 * REQUEST_USD
        match_usd = match_gbs * GB_SECOND_USD + 1_000_000 * REQUEST_USD
        lines.append(
            f"  {model:<12}: API {api_s * 1000:7.2f} ms billed x 1M = {api_gbs:9,.0f} GB-s = ${api_usd:7.2f} "
            f"(of which requests $0.20) | matcher {match_s * 1000:7.2f} ms x 1M = {match_gbs:9,.0f} GB-s = "
            f"${match_usd:7.2f} | total ${api_usd + match_usd:7.2f} per million orders")
        totals[model] = api_usd + match_usd
    return lines, totals


def report(name: str, results: dict, memory: dict[str, int], summary: bool) -> None:
    placement = results["placement"]
    print(f"\n## {name}")
    print(f"placement (CoinBTR buylimit, {len(placement['cpu'])} warm calls): "
          f"CPU median {median(placement['cpu']):.2f} ms, mean {statistics.fmean(placement['cpu']):.2f} ms; "
          f"wall median {median(placement['wall']):.2f} ms; "
          f"DynamoDB round trips {placement['calls']:.1f}")
    settle_one = None
    for key, row in results.items():
        if key == "placement":
            continue
        _, depth, fills = key
        per_fill = [c / fills for c in row["cpu"]]
        if fills == 1 and settle_one is None:
            settle_one = median(row["cpu"])
        print(f"settlement, {depth} resting orders per side, {fills} fill(s) ({len(row['cpu'])} warm calls): "
              f"CPU median {median(row['cpu']):.2f} ms = {median(per_fill):.2f} ms per fill; wall median "
              f"{median(row['wall']):.2f} ms; DynamoDB round trips {row['calls']:.1f}")
    if settle_one is not None:
        print(f"cost per million orders (API {memory['api_handler']} MB, matcher {memory['match_orders']} MB; "
              f"CPU only, DynamoDB waits excluded):")
        lines, totals = cost_lines(median(placement["cpu"]), settle_one, memory)
        for line in lines:
            print(line)
        if summary:
            _summary.record("cpu_cost", "CPU per placement (API handler, DynamoDB Local)",
                            f"{median(placement['cpu']):.2f} ms")
            _summary.record("cpu_cost", "CPU per one-fill settlement (stream handler)", f"{settle_one:.2f} ms")
            _summary.record("cpu_cost", "Lambda $ per million orders (CPU only)",
                            f"${totals['full core']:.2f} full core, ${totals['Lambda share']:.2f} Lambda share")


def main() -> None:
    """Each backend in its own process: botocore sessions made before moto starts bypass moto."""
    if len(sys.argv) == 2 and sys.argv[1] in ("ddblocal", "moto"):
        results = on_dynamodb_local() if sys.argv[1] == "ddblocal" else on_moto()
        if results is not None:
            title = ("DynamoDB Local (its CPU is another process's)" if sys.argv[1] == "ddblocal"
                     else "in-process moto, moto's own CPU subtracted (cross-check)")
            report(title, results, memory_sizes(), summary=sys.argv[1] == "ddblocal")
        return
    started = time.perf_counter()
    print("# cpu_cost: CPU per operation, database time excluded, and its Lambda cost")
    print(f"# prices: ${GB_SECOND_USD} per GB-s (x86), $0.20 per 1M requests; memory (prod stage): "
          f"{memory_sizes()}; one vCPU at {FULL_VCPU_MB} MB", flush=True)
    for backend in ("ddblocal", "moto"):
        subprocess.run([sys.executable, __file__, backend], cwd=ROOT, check=True, timeout=150)
    print(f"\n(whole script {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
