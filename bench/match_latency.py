"""End-to-end match latency on the real local stack (what `make run` starts).

Starts `python -m chalicelib.local.runner` in a subprocess with free ports, a temporary
LAMBDEX_DATA_DIR and LAMBDEX_SCHEDULE_INTERVAL=5 (DynamoDB Local, the HTTP API, the stream
poller feeding `app.match_orders`, the scheduler), then over HTTP only:

1. creates ZRX and WETH, market ZRX-WETH (fee 0), API keys of alice and bob, deposits
   (credited by the scheduler within one interval);
2. places PAIRS sells (alice, 1 ZRX at 0.5, resting), waits for the stream to go idle, then
   PAIRS buys (bob, 1 ZRX at 0.5): each buy crosses exactly one resting sell;
3. for each buy, match latency = from the moment its placing HTTP response was received
   until a `GET /orders/<id>` response says `filled` (nothing subtracted). One poller thread
   goes round-robin over the pending ids, pausing POLL_PAUSE between rounds; the placer keeps
   at most MAX_PENDING buys unmatched so that each id is polled every few ms;
4. times a raw TransactWriteItems (two Puts to a throwaway table) on the same DynamoDB Local
   endpoint, RAW_TWI times, and prints the ratio of the medians.

Stops the stack with SIGINT at the end (in a `finally`). Bounded by DEADLINE; prints figures,
asserts nothing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import _summary  # noqa: E402

PAIRS = 100
MAX_PENDING = 3
POLL_PAUSE = 0.005
RAW_TWI = 200
RESTING = int(os.environ.get("BENCH_RESTING", "0"))  # extra resting orders that never cross (the depth)
PUBLISHER = os.environ.get("BENCH_PUBLISHER", "1") != "0"  # 0: the stack without the realtime publisher
DEADLINE = 150.0 + RESTING * 0.1  # seconds for the whole script, start-up included
ADMIN_TOKEN = "bench-admin"
MARKET = "ZRX-WETH"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    def __init__(self, data_dir: Path):
        self.port, self.ddb_port, self.ws_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ddb_url = f"http://127.0.0.1:{self.ddb_port}"
        self.ws_url = f"ws://127.0.0.1:{self.ws_port}"
        self.env = dict(os.environ, PORT=str(self.port), LAMBDEX_DDB_PORT=str(self.ddb_port),
                        LAMBDEX_WS_PORT=str(self.ws_port),
                        LAMBDEX_DATA_DIR=str(data_dir), LAMBDEX_SCHEDULE_INTERVAL="5",
                        LAMBDEX_ADMIN_TOKEN=ADMIN_TOKEN, LAMBDEX_LOG_LEVEL="INFO",
                        LAMBDEX_DYNAMODB_ENDPOINT="", LAMBDEX_TABLE_PREFIX="lambdex-local")
        self.log_path = data_dir.parent / "runner.log"
        self.process: subprocess.Popen | None = None

    def start(self, deadline: float) -> float:
        started = time.perf_counter()
        command = (["-m", "chalicelib.local.runner"] if PUBLISHER
                   else [str(ROOT / "bench" / "_runner_without_publisher.py")])
        self.process = subprocess.Popen([sys.executable, *command], cwd=ROOT, env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=self.log_path.open("w"))
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("the stack exited:\n" + self.log_path.read_text()[-3000:])
            try:
                self.request("GET", "/admin/assets", admin=True, timeout=30)  # a first answer may be slow
                return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise SystemExit("the stack did not start in time:\n" + self.log_path.read_text()[-3000:])

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)

    def backend(self) -> str:
        for line in self.log_path.read_text().splitlines():
            if '"db.started"' in line or '"runner.ready"' in line:  # the database's own line comes first
                return json.loads(line).get("backend", "?")
        return "?"

    def request(self, method: str, path: str, payload=None, *, admin: bool = False, key: str | None = None,
                timeout: float = 10):
        status, body = call_json(self.url, method, path, payload, admin_token=ADMIN_TOKEN if admin else None,
                                 key=key, timeout=timeout)
        if status == 0:
            raise urllib.error.URLError(body)
        return status, body


def call_json(url: str, method: str, path: str, payload=None, *, admin_token: str | None = None,
              key: str | None = None, timeout: float = 10) -> tuple[int, object]:
    """One JSON request: (status, decoded body); status 0 when no HTTP answer came at all."""
    headers = {"Content-Type": "application/json"}
    if admin_token:
        headers["Authorization"] = f"Bearer {admin_token}"
    if key:
        headers["Authorization"] = f"Token {key}"
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body or b"null")
        except ValueError:
            return error.code, body[:200]
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        return 0, str(error)


def ok(result, what: str):
    status, payload = result
    if status >= 300:
        raise SystemExit(f"{what}: HTTP {status}: {payload}")
    return payload


def wait_for(check, deadline: float, what: str, pause: float = 0.1) -> None:
    while not check():
        if time.perf_counter() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(pause)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


class Poller(threading.Thread):
    """Round-robin over the pending order ids until each shows `filled`."""

    def __init__(self, stack: Stack):
        super().__init__(name="poller", daemon=True)
        self.stack = stack
        self.lock = threading.Lock()
        self.pending: dict[str, float] = {}  # id -> perf_counter when its placing response arrived
        self.latency: dict[str, float] = {}
        self.last_poll: dict[str, float] = {}
        self.gaps: list[float] = []
        self.get_ms: list[float] = []
        self.stopping = threading.Event()

    def add(self, order_id: str, placed_at: float) -> None:
        with self.lock:
            self.pending[order_id] = placed_at

    def count_pending(self) -> int:
        with self.lock:
            return len(self.pending)

    def run(self) -> None:
        while not self.stopping.is_set():
            with self.lock:
                ids = list(self.pending)
            for order_id in ids:
                sent = time.perf_counter()
                status, rows = self.stack.request("GET", f"/orders/{order_id}")
                seen = time.perf_counter()
                self.get_ms.append((seen - sent) * 1000)
                if order_id in self.last_poll:
                    self.gaps.append((sent - self.last_poll[order_id]) * 1000)
                self.last_poll[order_id] = sent
                if status == 200 and rows and rows[0]["status"] == "filled":
                    with self.lock:
                        self.latency[order_id] = seen - self.pending.pop(order_id)
            time.sleep(POLL_PAUSE)


def write_resting(endpoint: str, count: int) -> None:
    """`count` orders that never cross the benchmark's pairs (asks at 0.9, bids at 0.1), written
    straight into the stack's orders table with BatchWriteItem (their INSERTs still reach the
    stream poller, like any order's)."""
    import botocore.session

    from chalicelib.ledger.stores.orders import BookEntry, DynamoOrders, book_key

    client = botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="local",
        aws_secret_access_key="local")
    entries = []
    for i in range(count):
        side, tx_index, tx_hash = ("sell" if i % 2 else "buy"), 1_000 + i, f"{i + 1:064x}"
        give, get = (10**8, 9 * 10**7) if side == "sell" else (10**7, 10**8)
        assets = ("ZRX", "WETH") if side == "sell" else ("WETH", "ZRX")
        entries.append(BookEntry(tx_hash=tx_hash, tx_index=tx_index, source=f"rest{i % 10}", give_asset=assets[0],
                                 give_quantity=give, give_remaining=give, get_asset=assets[1], get_quantity=get,
                                 get_remaining=get, market=MARKET, side=side, expires_at=4_000_000_000,
                                 book_key=book_key(side, give, get, tx_index, tx_hash), block_index=1))
    DynamoOrders(client=client, table="lambdex-local-orders").add(entries)


def raw_transact_write(endpoint: str, runs: int) -> list[float]:
    """Milliseconds of TransactWriteItems with two Puts to a throwaway table, `runs` times."""
    import botocore.session
    from botocore.config import Config

    client = botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="local",
        aws_secret_access_key="local", config=Config(retries={"max_attempts": 3, "mode": "standard"},
                                                     tcp_keepalive=True))
    table = f"bench-throwaway-{os.getpid()}"
    client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    timings = []
    try:
        for i in range(runs + 10):  # the first 10 warm the connection up and are not kept
            items = [{"Put": {"TableName": table, "Item": {"id": {"S": f"{i}-{side}"}, "n": {"N": str(i)},
                                                           "pad": {"S": "x" * 200}},
                              "ConditionExpression": "attribute_not_exists(id)"}} for side in ("a", "b")]
            started = time.perf_counter()
            client.transact_write_items(TransactItems=items)
            if i >= 10:
                timings.append((time.perf_counter() - started) * 1000)
    finally:
        client.delete_table(TableName=table)
    return timings


def app_log(log_path: Path, since_epoch: float) -> dict[str, list[dict]]:
    """The app's own JSON log lines (Powertools: `logger` lambdex.*, `message`, RFC 3339
    `timestamp`) written after `since_epoch`, by message."""
    events: dict[str, list[dict]] = {}
    for line in log_path.read_text().splitlines():
        if '"logger":"lambdex.' not in line.replace(" ", ""):
            continue
        entry = json.loads(line)
        if datetime.fromisoformat(entry["timestamp"]).timestamp() >= since_epoch:
            events.setdefault(entry["message"], []).append(entry)
    return events


def main() -> None:
    begun = time.perf_counter()
    deadline = begun + DEADLINE
    with tempfile.TemporaryDirectory(prefix="lambdex-bench-") as tmp:
        stack = Stack(Path(tmp) / "ddb")
        try:
            startup = stack.start(deadline)
            ok(stack.request("POST", "/admin/assets", {"name": "ZRX", "decimals": 8}, admin=True), "asset")
            ok(stack.request("POST", "/admin/assets", {"name": "WETH", "decimals": 8}, admin=True), "asset")
            ok(stack.request("POST", "/admin/markets", {"id": MARKET, "base": "ZRX", "quote": "WETH", "fee": "0"},
                             admin=True), "market")
            keys = {}
            for account, coin in (("alice", "ZRX"), ("bob", "WETH")):
                keys[account] = ok(stack.request("POST", "/admin/apikeys", {"public": True, "account": account,
                                                                            "scopes": ["read", "trade"]},
                                                 admin=True), "api key")["key"]
                ok(stack.request("POST", "/admin/deposits", {"coin": coin, "txid": f"fund-{account}",
                                                             "address": account, "amount": "100000"},
                                 admin=True), "deposit")

            def funded() -> bool:
                return all(ok(stack.request("GET", f"/addresses/{a}/balances"), "balances") for a in keys)

            funding_started = time.perf_counter()
            wait_for(funded, deadline, "the deposits to be credited by the scheduler")
            funding = time.perf_counter() - funding_started

            place_ms = []

            def place(account: str, side: str) -> tuple[str, float]:
                sent = time.perf_counter()
                result = stack.request("POST", f"/api/v1/trading/place/{side}limit",
                                       {"market": MARKET, "price": "0.5", "amount": "1"}, key=keys[account])
                received = time.perf_counter()
                place_ms.append((received - sent) * 1000)
                return ok(result, f"place {side}")["data"]["id"], received

            for _ in range(PAIRS):
                place("alice", "sell")

            def sells_resting() -> bool:
                book = ok(stack.request("GET", f"/market/getorderbook?market={MARKET}"), "book")["data"]
                return sum(level["amount"] for level in book["asks"]) == PAIRS

            wait_for(sells_resting, deadline, "the sells to rest")
            if RESTING:
                write_resting(stack.ddb_url, RESTING)
                time.sleep(5.0 + RESTING / 200)  # let the stream poller go through their INSERTs
            time.sleep(1.0)  # let the stream poller deliver the sells' INSERTs first

            poller = Poller(stack)
            poller.start()
            buys_started_epoch = time.time()
            buys_started = time.perf_counter()
            for _ in range(PAIRS):
                wait_for(lambda: poller.count_pending() < MAX_PENDING, deadline, "matches", pause=0.002)
                order_id, received = place("bob", "buy")
                poller.add(order_id, received)
            wait_for(lambda: poller.count_pending() == 0, deadline, "the last matches", pause=0.01)
            buys_seconds = time.perf_counter() - buys_started
            poller.stopping.set()
            poller.join(5)

            twi = raw_transact_write(stack.ddb_url, RAW_TWI)
            backend = stack.backend()
            events = app_log(stack.log_path, buys_started_epoch)
            if os.environ.get("BENCH_KEEP_LOG"):
                (ROOT / ".local").mkdir(exist_ok=True)
                (ROOT / ".local" / "bench-runner.log").write_text(stack.log_path.read_text())
        finally:
            code = stack.stop()

        latencies = [v * 1000 for v in poller.latency.values()]
        p50 = percentile(latencies, 50)
        twi_median = statistics.median(twi)
        print("# match_latency: the local stack as `make run` starts it (python -m chalicelib.local.runner)")
        print(f"# backend {backend}, schedule interval 5 s, stream poll interval 0.25 s (runner default); "
              f"stack up in {startup:.1f} s, deposits credited {funding:.1f} s after posting\n")
        print(f"resting orders that never cross (asks 0.9, bids 0.1; BENCH_RESTING): {RESTING}")
        print("realtime publisher: " + ("on, in the runner's process (as `make run`)" if PUBLISHER else
                                        "OFF (BENCH_PUBLISHER=0: bench/_runner_without_publisher.py)"))
        print(f"orders placed: {2 * PAIRS} ({PAIRS} resting sells, then {PAIRS} buys each crossing one sell, "
              f"at most {MAX_PENDING} unmatched at a time); buys matched: {len(latencies)} in {buys_seconds:.1f} s")
        print("\n| figure                                              |     p50 |     p90 |     p99 |     max |")
        print("|-----------------------------------------------------|---------|---------|---------|---------|")

        def row(name: str, values: list[float]) -> None:
            print(f"| {name:<51} | {percentile(values, 50):7.1f} | {percentile(values, 90):7.1f} "
                  f"| {percentile(values, 99):7.1f} | {max(values):7.1f} |")

        row("match latency, ms (placing response -> filled)", latencies)
        row("POST place order, ms (HTTP round trip)", place_ms)
        row("GET /orders/<id> poll, ms (HTTP round trip)", poller.get_ms)
        row("poll gap per id, ms (measurement resolution)", poller.gaps)
        batches = events.get("stream batch", [])
        matching = [b for b in batches if b["markets"]]
        idle = [b for b in batches if not b["markets"]]
        settled = [e for e in events.get("market settled", []) if e["fills"]]
        if matching:
            row(f"stream handler, batches with an INSERT, ms (n={len(matching)})", [b["ms"] for b in matching])
            row("  records per such batch", [float(b["records"]) for b in matching])
        if idle:
            row(f"stream handler, MODIFY-only batches, ms (n={len(idle)})", [b["ms"] for b in idle])
        if settled:
            row(f"match_market that settled, ms (n={len(settled)})", [e["ms"] for e in settled])
            row("  fills per such match_market", [float(e["fills"]) for e in settled])
        published = [e for e in events.get("publish batch", []) if "ms" in e]
        if published:  # the realtime publisher shares the runner's process (one GIL) with the matcher
            row(f"realtime publisher batch, ms (n={len(published)})", [e["ms"] for e in published])
        row(f"raw TransactWriteItems (2 Puts), ms (n={len(twi)})", twi)
        retries = sum(e["retries"] for e in events.get("market settled", []))
        print(f"\nsettling retries (a concurrent settle of the market won: StaleRead/AlreadyApplied): {retries}")
        print(f"median raw TransactWriteItems: {twi_median:.2f} ms; "
              f"p50(match latency) / median(raw TransactWriteItems) = {p50 / twi_median:.1f}")
        print(f"stack stopped with SIGINT, exit code {code}; whole script {time.perf_counter() - begun:.1f} s")
        _summary.record("match_latency", f"end-to-end match latency p50 ({RESTING} resting, publisher "
                        f"{'on' if PUBLISHER else 'off'})", f"{p50:.1f} ms",
                        f"raw TransactWriteItems {twi_median:.2f} ms", p50 / twi_median)


if __name__ == "__main__":
    main()
