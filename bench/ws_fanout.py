"""Realtime fan-out on the local stack, and what the same fan-out costs in AWS.

    python bench/ws_fanout.py [--subscribers 240] [--markets 3] [--trades 12]

Part 1, the local stack (`python -m chalicelib.local.runner` in a subprocess: DynamoDB Local,
free ports, a temp data folder): `--subscribers` WebSocket clients (one asyncio process,
the `websockets` library), spread over `--markets` markets, each subscribed to `book` and
`trades` of its market. Then orders flow over HTTP (CoinBTR): per market `--trades` rounds
of a resting sell and a buy that crosses it (one match each), markets interleaved. Each
client records what it receives. Prints:

- delivery latency, settlement -> receipt: the trade's `timeUs` (the settling transaction's
  time, the ledger clock = this machine's clock) to the client's receipt, p50/p99/max over
  every (client, trade); beside it the floor of this set-up: the stream pollers sleep
  `poll_interval` (0.25 s) when a stream is idle, twice in a row (the matcher's poll, then
  the publisher's), so half a poll interval on average is waiting, not work;
- messages per second received by all clients while orders flowed;
- lost and duplicated updates: per client, `trades` and `book` sequence numbers must run
  from the snapshot's + 1 without a gap or a repeat, and every trade must arrive.

Part 2, the fan-out cost in AWS by its rules: one `post_to_connection` (one Management API
call, billed as one message per 32 KB) per subscriber per update, so 1,000 calls per 1,000
subscribers per update. The Lambda time of those calls is measured with the publisher's own
fan-out code (`gateway.fan_out` with `gateway.ManagementApi`, botocore, 32 workers) against a
stand-in Management API on 127.0.0.1 that answers 200 at once: that is the client-side cost
(signing, serialising, the thread pool), the floor; in AWS each call also waits one in-region
round trip, so the printed estimate adds `RTT x 1000 / 32` for an assumed RTT (`--rtt-ms`,
default 10 ms: an assumption, printed as such). Beside it: the same 1,000 calls made one
after the other (the ratio is what the worker pool buys).

Asserts nothing; exits 0 unless the stack cannot start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from match_latency import Stack, percentile  # noqa: E402

from bench import _summary  # noqa: E402

QUOTE = "FANQ"
POLL_INTERVAL = 0.25  # chalicelib.local.runner.Runner's default
PRICE = "0.5"


# -- part 1: the local stack ---------------------------------------------------------------------

def setup(stack: Stack, markets: list[str]) -> dict[str, dict[str, str]]:
    """Assets, markets, a funded maker and taker per market; returns market -> {maker, taker} keys."""
    ok = {200, 201}
    assert stack.request("POST", "/admin/assets", {"name": QUOTE, "decimals": 8}, admin=True)[0] in ok
    keys: dict[str, dict[str, str]] = {}
    for market in markets:
        base = market.split("-")[0]
        assert stack.request("POST", "/admin/assets", {"name": base, "decimals": 8}, admin=True)[0] in ok
        assert stack.request("POST", "/admin/markets", {"id": market, "base": base, "quote": QUOTE, "fee": "0"},
                             admin=True)[0] in ok
        keys[market] = {}
        for role, coin in (("maker", base), ("taker", QUOTE)):
            account = f"{role}-{base.lower()}"
            # public: the funding check below reads the account's balances on the public route
            status, body = stack.request("POST", "/admin/apikeys", {"public": True, "account": account,
                                                                    "scopes": ["read", "trade"]}, admin=True)
            keys[market][role] = body["key"]
            stack.request("POST", "/admin/deposits", {"coin": coin, "txid": f"fund-{account}", "address": account,
                                                     "amount": "1000000"}, admin=True)
    deadline = time.time() + 60
    last = markets[-1].split("-")[0].lower()
    while time.time() < deadline:  # deposits are credited by the scheduler (every 5 s)
        status, body = stack.request("GET", f"/addresses/taker-{last}/balances")
        if status == 200 and body:
            return keys
        time.sleep(0.5)
    raise SystemExit("deposits were not credited")


class Client:
    def __init__(self, index: int, market: str):
        self.index, self.market = index, market
        self.snapshot_seq: dict[str, int] = {}
        self.seqs: dict[str, list[int]] = defaultdict(list)
        self.trade_latency: list[float] = []
        self.received = 0
        self.early: list[dict] = []


async def run_client(client: Client, url: str, ready: asyncio.Event, stop: asyncio.Event, counter: list[int]) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, max_queue=None, open_timeout=60) as ws:
        for channel in ("book", "trades"):
            await ws.send(json.dumps({"type": "subscribe", "channel": channel, "requestId": channel,
                                      "payload": {"market": client.market}}))
        while len(client.snapshot_seq) < 2:
            message = json.loads(await ws.recv())
            if message["type"] == "snapshot":
                client.snapshot_seq[message["channel"]] = message["payload"]["seq"]
            elif message["type"] == "update":
                client.early.append(message)  # before its snapshot: kept for the seq check
        counter[0] += 1
        if counter[0] == counter[1]:
            ready.set()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            received_at = time.time()
            message = json.loads(raw)
            if message["type"] != "update":
                continue
            client.received += 1
            payload = message["payload"]
            client.seqs[message["channel"]].append(payload["seq"])
            if message["channel"] == "trades":
                client.trade_latency.append(received_at - payload["timeUs"] / 1e6)


def flow(stack: Stack, keys: dict[str, dict[str, str]], rounds: int, done: threading.Event) -> None:
    """Per market and round: a resting sell, then a buy that crosses it (one match)."""
    for _ in range(rounds):
        for market, key in keys.items():
            for side, who in (("sell", "maker"), ("buy", "taker")):
                status, body = stack.request("POST", f"/api/v1/trading/place/{side}limit",
                                             {"market": market, "price": PRICE, "amount": "1"}, key=key[who],
                                             timeout=30)
                if status != 200:
                    print(f"  order refused: {status} {body}")
    done.set()


async def fan_in(stack: Stack, keys, subscribers: int, markets: list[str], rounds: int) -> tuple[list[Client], float]:
    clients = [Client(i, markets[i % len(markets)]) for i in range(subscribers)]
    ready, stop = asyncio.Event(), asyncio.Event()
    counter = [0, subscribers]
    tasks = []
    for i in range(0, subscribers, 40):  # connect in waves: the local server's handlers are a thread pool
        tasks += [asyncio.create_task(run_client(c, stack.ws_url, ready, stop, counter)) for c in clients[i:i + 40]]
        await asyncio.sleep(0.5)
    await asyncio.wait_for(ready.wait(), timeout=180)
    flowing = threading.Event()
    started = time.perf_counter()
    threading.Thread(target=flow, args=(stack, keys, rounds, flowing), daemon=True).start()
    expected = rounds
    deadline = time.perf_counter() + 120 + rounds * len(markets)
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.25)
        if flowing.is_set() and all(len(c.seqs["trades"]) >= expected for c in clients):
            break
    elapsed = time.perf_counter() - started
    await asyncio.sleep(1.0)  # late duplicates, if any, would show up here
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return clients, elapsed


def check_sequences(clients: list[Client], rounds: int) -> tuple[int, int, int]:
    """(lost, duplicated, out of order) updates over all clients and both channels."""
    lost = duplicated = disordered = 0
    for client in clients:
        if len(client.snapshot_seq) < 2:
            lost += rounds  # never subscribed: every trade is lost to it
            continue
        for channel in ("book", "trades"):
            start = client.snapshot_seq[channel]
            seen = [s for s in client.seqs[channel] if s > start]
            duplicated += len(seen) - len(set(seen))
            disordered += sum(1 for a, b in zip(seen, seen[1:], strict=False) if b < a)
            if channel == "trades":  # exactly `rounds` trades follow the snapshot
                lost += rounds - len(set(seen) & set(range(start + 1, start + rounds + 1)))
            elif seen:  # book: every number between the snapshot's and the last one seen
                lost += (max(seen) - start) - len(set(seen))
    return lost, duplicated, disordered


def part_one(args) -> None:
    markets = [f"FAN{chr(65 + i)}-{QUOTE}" for i in range(args.markets)]
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp) / "ddb")
        started = stack.start(time.perf_counter() + 120)
        try:
            print(f"stack up in {started:.1f} s ({stack.backend()}); {args.subscribers} subscribers on "
                  f"{len(markets)} markets, {args.trades} crossing pairs per market")
            keys = setup(stack, markets)
            clients, elapsed = asyncio.run(fan_in(stack, keys, args.subscribers, markets, args.trades))
        finally:
            stack.stop()
            if os.environ.get("FANOUT_LOG"):
                Path(os.environ["FANOUT_LOG"]).write_text(stack.log_path.read_text())
    latencies = [x for c in clients for x in c.trade_latency]
    received = sum(c.received for c in clients)
    lost, duplicated, disordered = check_sequences(clients, args.trades)
    connected = sum(1 for c in clients if len(c.snapshot_seq) == 2)
    print(f"\nsubscribers connected and subscribed: {connected} / {args.subscribers}")
    print(f"updates received: {received} in {elapsed:.1f} s of order flow = {received / elapsed:.0f} messages/s "
          f"({sum(len(c.seqs['trades']) for c in clients)} trades, {sum(len(c.seqs['book']) for c in clients)} "
          "book deltas)")
    if latencies:
        p50, p99 = statistics.median(latencies), percentile(latencies, 99)
        floor = POLL_INTERVAL  # two idle polls in a row, half an interval each on average
        print(f"delivery latency settlement -> receipt: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms over {len(latencies)} (client, trade) pairs")
        print(f"  floor of the local set-up (2 stream polls of {POLL_INTERVAL} s, half each on average): "
              f"{floor * 1000:.0f} ms; p50 / floor = {p50 / floor:.2f}")
        _summary.record("ws_fanout", f"realtime delivery p50 / p99 ({connected} subscribers)",
                        f"{p50 * 1000:.0f} / {p99 * 1000:.0f} ms", f"2 stream polls {floor * 1000:.0f} ms",
                        p50 / floor)
    print(f"lost updates: {lost}, duplicated: {duplicated}, out of order: {disordered} "
          "(by the book and trades sequence numbers)")
    _summary.record("ws_fanout", "updates lost / duplicated / out of order", f"{lost} / {duplicated} / {disordered}",
                    target="0 / 0 / 0, every subscriber connected",
                    met=not (lost or duplicated or disordered) and connected == args.subscribers)


# -- part 2: AWS fan-out cost ----------------------------------------------------------------------

class _StandIn(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def part_two(args) -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from chalicelib.realtime import channels, gateway

    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = gateway.ManagementApi(f"http://127.0.0.1:{server.server_address[1]}")
    message = channels.encode(channels.envelope("update", "trades", "trades", {
        "market": "ZRX-WETH", "id": "a" * 64 + "_" + "b" * 64, "price": "0.5", "amount": "1", "quoteAmount": "0.5",
        "side": "buy", "status": "completed", "time": "2026-12-01T00:00:00.000000Z", "timeUs": 0, "seq": 1}))
    subscribers = [f"conn-{i:04d}=" for i in range(1000)]
    gateway.fan_out(api, [(c, [message]) for c in subscribers[:64]])  # warm: clients, connections, threads
    runs = []
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        report = gateway.fan_out(api, [(c, [message]) for c in subscribers])
        runs.append((time.perf_counter() - wall, time.process_time() - cpu, report.sent))
    wall, cpu, sent = min(runs)
    serial_started = time.perf_counter()
    for c in subscribers[:200]:
        api.post(c, message)
    serial = (time.perf_counter() - serial_started) * 5
    server.shutdown()
    rtt = args.rtt_ms / 1000
    print(f"\nfan-out of one update ({len(message)} bytes) to 1,000 subscribers:")
    print(f"  Management API calls: {sent} (1 per subscriber; billed as {sent} messages of <= 32 KB)")
    print(f"  publisher time against a stand-in that answers at once: {wall * 1000:.0f} ms wall, "
          f"{cpu * 1000:.0f} ms CPU ({gateway.MAX_WORKERS} workers); one after the other: {serial * 1000:.0f} ms "
          f"(serial / pool = {serial / wall:.1f})")
    estimate = wall + rtt * len(subscribers) / gateway.MAX_WORKERS
    print(f"  estimated Lambda time in AWS with an assumed {args.rtt_ms:g} ms round trip per call: "
          f"{estimate * 1000:.0f} ms per 1,000 subscribers per update "
          f"(= {wall * 1000:.0f} ms measured + {args.rtt_ms:g} ms x 1000 / {gateway.MAX_WORKERS} workers)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=240)
    parser.add_argument("--markets", type=int, default=3)
    parser.add_argument("--trades", type=int, default=12, help="crossing pairs per market")
    parser.add_argument("--rtt-ms", type=float, default=10.0)
    parser.add_argument("--skip-local", action="store_true", help="part 2 only")
    args = parser.parse_args()
    if not args.skip_local:
        part_one(args)
    part_two(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
