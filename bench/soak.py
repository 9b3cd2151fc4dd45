"""Soak: the local stack under honest load, an attacker and injected faults, then the checks.

    python bench/soak.py                       # make soak: 120 s, 6 traders, 3 markets
    python bench/soak.py --seconds 25 --traders 3 --markets 2   # the CI variant (tests/integration/test_soak.py)

Starts the stack as the end-to-end test does (`python -m chalicelib.local.runner`, DynamoDB
Local, free ports, a temp data folder) with `LAMBDEX_LOCAL_FAULTS` set, so that until the
load stops the runner injects TransactWriteItems conflicts, throttles and lost responses
(after the commit), matcher crashes mid-batch and redelivered batches (each drawn per
stream batch: it prints how many of how many batches) (`chalicelib/local/faults.py`,
switched on by a file while the load runs). For `--seconds`:

- `--traders` honest CoinBTR accounts place buy/sell limit orders around a price of 1 on
  `--markets` markets and cancel some of their resting orders (bench/load.py's client);
- one attacker runs each attack of issue 10 in turn (see ATTACKS), counting what it tried and
  what the system refused or contained.

Then it stops the load, waits for the stream matcher and the scheduler to settle (bounded),
and checks: the audit (journal, conservation, no crossed book, fills == matches, no market
failing) is OK, and no request got a 5xx (or no answer). It prints requests and orders per
second, faults injected, attacks tried and refused, p50/p99 latency, and exits 1 on any
failed check.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from load import Api, Stats, client, configure_models  # noqa: E402
from match_latency import ADMIN_TOKEN, Stack, percentile  # noqa: E402

QUOTE = "SOAKQ"
FUNDS = "1000000"
# The matcher handles only ~20 stream batches in 120 s on 2 shared cores (it shares the runner's
# process with the HTTP API; each batch holds what arrived while the one before was settling),
# and a crash can only end an invocation: so a batch crashes with 50 % (its retry may crash
# again: one crash per batch on average) and a completed batch is redelivered with 50 %.
FAULTS = "conflict=0.04,throttle=0.04,lost=0.03,crash=0.5,redeliver=0.5"
BATCH_FAULTS = ("crash", "redeliver")
SURE_AFTER = 30  # chances after which a batch fault at 50 % not seen once is a finding (0.5**30 < 1e-9)
SETTLE_WAIT = 90.0  # seconds the matcher and scheduler get to settle after the load stops
HUGE = "9" * 5000


def token_address() -> str:
    return "0x" + secrets.token_hex(20)


class Attacks:
    """One attacker account (CoinBTR key + an Ethereum key), each attack counted."""

    def __init__(self, api: Api, key: str, eth_key: bytes, market_ids: list[str], tokens: dict[str, str],
                 stats: Stats, honest: list[str]):
        from eth_account import Account

        self.api, self.key, self.market_ids, self.tokens, self.stats = api, key, market_ids, tokens, stats
        self.account = Account.from_key(eth_key)
        self.honest = honest
        self.tried: Counter = Counter()
        self.refused: Counter = Counter()
        self.unexpected: list[str] = []
        self.salt = 0
        self.collision: tuple[str, str] | None = None

    def call(self, method, path, payload=None, **kw):
        started = time.perf_counter()
        status, body = self.api.call(method, path, payload, **kw)
        self.stats.record(f"attack:{path.split('/')[1] if path.count('/') > 1 else path}",
                          time.perf_counter() - started, status)
        return status, body

    def expect_4xx(self, attack: str, method: str, path: str, payload=None, **kw) -> None:
        self.tried[attack] += 1
        status, body = self.call(method, path, payload, **kw)
        if 400 <= status < 500:
            self.refused[attack] += 1
        else:
            self.unexpected.append(f"{attack}: {method} {path} -> {status} {str(body)[:200]}")

    # item 7: numbers that gave 500s
    def strict_numbers(self, rng: random.Random) -> None:
        market = rng.choice(self.market_ids)
        for price, amount in ((1, HUGE), (True, "1"), ("1", "\u0661\u0662"), ("1e999999999", "1"), ("0.5", True)):
            self.expect_4xx("strict_numbers", "POST", "/api/v1/trading/place/selllimit",
                            {"market": market, "price": price, "amount": amount}, key=self.key)
        order = self.zeroex_order(market, rng, expiration=str(2**256))
        self.expect_4xx("strict_numbers", "POST", "/v0/order", order)

    # item 2: untradeable (taker-restricted) 0x orders at the top of the book
    def taker_flood(self, rng: random.Random) -> None:
        market = rng.choice(self.market_ids)
        for _ in range(10):
            order = self.zeroex_order(market, rng, taker=token_address(), price=rng.choice((0.5, 1.5)))
            self.tried["taker_flood"] += 1
            status, body = self.call("POST", "/v0/order", order)
            if status >= 500 or status == 0:
                self.unexpected.append(f"taker_flood: POST /v0/order -> {status} {str(body)[:200]}")
            # accepted (a valid signed order) or refused: either way the end checks say whether
            # honest crossing orders still settled around it
            self.refused["taker_flood"] += 1 if status < 500 else 0

    # item 3: many tiny orders, then one order that sweeps them (a settlement beyond 100 items)
    def dust_sweep(self, rng: random.Random) -> None:
        market = rng.choice(self.market_ids)
        for _ in range(40):
            self.call("POST", "/api/v1/trading/place/selllimit",
                      {"market": market, "price": "1.2", "amount": "0.0001"}, key=self.key)
        self.tried["dust_sweep"] += 1
        status, body = self.call("POST", "/api/v1/trading/place/buylimit",
                                 {"market": market, "price": "1.2", "amount": "0.004"}, key=self.key)
        if status >= 500 or status == 0:
            self.unexpected.append(f"dust_sweep: buylimit -> {status} {str(body)[:200]}")
        else:
            self.refused["dust_sweep"] += 1  # contained if the end checks find the market settled

    # item 4: a zero-balance account buying with BTC (nothing escrowed) to lock sellers' escrow
    def external_zero_balance(self, rng: random.Random) -> None:
        for _ in range(2):
            self.tried["external_zero_balance"] += 1
            status, body = self.call("POST", "/api/v1/trading/place/buylimit",
                                     {"market": EXTERNAL_MARKET, "price": "0.01", "amount": "1"}, key=self.key)
            if 400 <= status < 500:
                self.refused["external_zero_balance"] += 1
            elif status >= 500 or status == 0:
                self.unexpected.append(f"external_zero_balance: buylimit -> {status} {str(body)[:200]}")

    # item 1: re-open a filled order (an unpaid match expires) against a counterparty it
    # already has a completed match with: the same match id came back and froze the market
    def match_id_collision(self, seller_key: str) -> None:
        self.tried["match_id_collision"] += 1

        def placed(side, amount, key):
            status, body = self.call("POST", f"/api/v1/trading/place/{side}limit",
                                     {"market": EXTERNAL_MARKET, "price": "0.009", "amount": amount}, key=key)
            if status != 200:
                raise RuntimeError(f"{side} {amount}: {status} {body}")
            return body["data"]["id"]

        seller = placed("sell", "2", seller_key)  # better than the 0.01 asks: matched first
        placed("buy", "1", self.key)  # B1: will default
        time.sleep(1.5)  # arrival order
        b3 = placed("buy", "3", self.key)  # B3: takes the seller's other 1, rests with 2
        deadline = time.monotonic() + 60
        while True:
            status, rows = self.call("GET", f"/orders/{seller}/matches")
            paid = [m for m in rows if m["tx1_hash"] == b3] if status == 200 else []
            if paid or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if not paid:
            raise RuntimeError(f"no pending match of {seller} and {b3}: {status} {rows}")
        match = paid[0]  # B3 pays its match (BTC observed on chain); B1's expires unpaid in 20 blocks
        self.admin("POST", "/admin/deposits", {"coin": "SOAKBTC", "txid": f"pay-{match['id']}", "address": "btc",
                                               "quantity": match["backward_quantity"], "match_id": match["id"]})
        self.collision = (seller, b3)  # the end checks: the re-opened seller and B3 settled, never frozen
        self.refused["match_id_collision"] += 1

    def admin(self, method, path, payload):
        status, body = self.api.call(method, path, payload, admin=True)
        if status >= 300:
            raise RuntimeError(f"{path}: {status} {body}")
        return body

    # item 8: someone else's balances and deposits through the public routes
    def privacy(self, rng: random.Random) -> None:
        victim = rng.choice(self.honest)
        self.tried["privacy"] += 1
        status, rows = self.call("GET", f"/addresses/{victim}/balances")
        if status == 200 and rows == []:
            self.refused["privacy"] += 1
        else:
            self.unexpected.append(f"privacy: /addresses/{victim}/balances -> {status} {str(rows)[:200]}")
        self.tried["privacy"] += 1
        status, rows = self.call("GET", f"/api/deposits/?address={victim}")
        if status == 200 and rows == []:
            self.refused["privacy"] += 1
        else:
            self.unexpected.append(f"privacy: /api/deposits/?address={victim} -> {status} {str(rows)[:200]}")

    # item 6: the spec's fixed sign-in message (replayable) outside the local stage
    def fixed_sign_in(self, rng: random.Random) -> None:
        from eth_account.messages import encode_defunct

        from chalicelib.auth.ethereum import keccak

        data = keccak(b"Sign this message to verify your authority of current address !")
        signed = self.account.sign_message(encode_defunct(primitive=data))
        self.expect_4xx("fixed_sign_in", "POST", "/v0/auth", {
            "address": self.account.address.lower(), "data": "0x" + data.hex(),
            "signature": "0x" + bytes(signed.signature).hex()})

    def zeroex_order(self, market: str, rng: random.Random, *, taker: str | None = None, price: float = 1.0,
                     expiration: str | None = None) -> dict:
        from eth_account.messages import encode_defunct

        from chalicelib.auth.ethereum import zeroex_v1_order_hash

        base, quote = market.split("-")
        self.salt += 1
        amount = 10**4 * rng.randint(1, 9)  # base units (8 decimals): tiny
        order = {
            "exchangeContractAddress": os.environ.get("LAMBDEX_0X_EXCHANGE",
                                                      "0x479cc461fecd078f766ecc58533d6f69580cf3ac"),
            "maker": self.account.address.lower(), "taker": taker or "0x" + "00" * 20,
            "makerTokenAddress": self.tokens[base], "takerTokenAddress": self.tokens[quote],
            "feeRecipient": "0x" + "00" * 20, "makerTokenAmount": str(amount),
            "takerTokenAmount": str(max(1, int(amount * price))), "makerFee": "0", "takerFee": "0",
            "expirationUnixTimestampSec": expiration or str(int(time.time()) + 3600), "salt": str(self.salt),
        }
        try:
            digest = bytes.fromhex(zeroex_v1_order_hash(order))
        except ValueError:  # beyond uint256: unsignable, the relayer's range check comes first
            digest = bytes(32)
        signed = self.account.sign_message(encode_defunct(primitive=digest))
        return {**order, "ecSignature": {"v": signed.v, "r": "0x" + signed.r.to_bytes(32, "big").hex(),
                                         "s": "0x" + signed.s.to_bytes(32, "big").hex()}}

    def run(self, stop_at: float, seed: int, attacks: tuple[str, ...], seller_key: str) -> None:
        rng = random.Random(seed)
        try:
            self.match_id_collision(seller_key)
        except Exception as error:  # noqa: BLE001
            self.unexpected.append(f"match_id_collision: {type(error).__name__}: {error}")
        while time.monotonic() < stop_at:
            for name in attacks[1:]:  # match_id_collision runs once, first
                if time.monotonic() >= stop_at:
                    break
                try:
                    getattr(self, name)(rng)
                except Exception as error:  # noqa: BLE001 - a broken attack is a finding, not a crash
                    self.unexpected.append(f"{name}: {type(error).__name__}: {error}")
                time.sleep(0.2)


ATTACKS = ("match_id_collision", "strict_numbers", "taker_flood", "dust_sweep", "external_zero_balance", "privacy",
           "fixed_sign_in")
EXTERNAL_MARKET = "SOAKX-SOAKBTC"


def setup(api: Api, markets: int, traders: int) -> tuple[list[str], dict[str, str], list[str], list[str], str, bytes]:
    def need(result, what):
        status, body = result
        if status not in (200, 201):
            raise SystemExit(f"{what}: HTTP {status}: {body}")
        return body

    tokens = {QUOTE: token_address()}
    need(api.call("POST", "/admin/assets", {"name": QUOTE, "decimals": 8, "token_address": tokens[QUOTE]},
                  admin=True), "quote asset")
    market_ids = []
    for m in range(markets):
        base = f"SOAK{m}"
        tokens[base] = token_address()
        need(api.call("POST", "/admin/assets", {"name": base, "decimals": 8, "token_address": tokens[base]},
                      admin=True), base)
        need(api.call("POST", "/admin/markets", {"id": f"{base}-{QUOTE}", "base": base, "quote": QUOTE,
                                                 "fee": "0.001"}, admin=True), "market")
        market_ids.append(f"{base}-{QUOTE}")
    for name, settlement in (("SOAKX", "ledger"), ("SOAKBTC", "external")):  # the external-side attack's market
        need(api.call("POST", "/admin/assets", {"name": name, "decimals": 8, "settlement": settlement}, admin=True),
             name)
    need(api.call("POST", "/admin/markets", {"id": EXTERNAL_MARKET, "base": "SOAKX", "quote": "SOAKBTC"},
                  admin=True), "external market")
    eth_key = secrets.token_bytes(32)
    from eth_account import Account

    attacker_eth = Account.from_key(eth_key).address.lower()
    keys, accounts = [], []
    for name in [f"trader-{t}" for t in range(traders)] + ["attacker"]:
        keys.append(need(api.call("POST", "/admin/apikeys", {"account": name, "scopes": ["read", "trade"]},
                                  admin=True), "api key")["key"])
        accounts.append(name)
    need(api.call("POST", "/admin/deposits", {"coin": "SOAKX", "txid": "soak-x", "address": accounts[0],
                                              "amount": FUNDS}, admin=True), "deposit")
    for address in [*accounts, attacker_eth]:
        for coin in tokens:
            need(api.call("POST", "/admin/deposits", {"coin": coin, "txid": f"soak-{address}-{coin}",
                                                      "address": address, "amount": FUNDS}, admin=True), "deposit")
    deadline = time.monotonic() + 90
    for key in keys:  # the scheduler credits the deposits
        while True:
            status, body = api.call("GET", "/api/v1/wallet/listbalances", key=key)
            if status == 200 and sum(1 for row in body["data"] if row["available"] > 0 and row["coin"] in tokens
                                     ) == len(tokens):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"deposits not credited within 90 s: {status} {body}")
            time.sleep(0.5)
    for _ in range(10):  # honest sells of SOAKX for BTC: what the attacker's BTC buys cross
        while True:  # (the SOAKX deposit may be credited a pass after the others)
            status, body = api.call("POST", "/api/v1/trading/place/selllimit", {
                "market": EXTERNAL_MARKET, "price": "0.01", "amount": "1"}, key=keys[0])
            if status == 200 or time.monotonic() > deadline:
                need((status, body), "external sell")
                break
            time.sleep(0.5)
    return market_ids, tokens, keys[:-1], accounts[:-1], keys[-1], eth_key


def fault_counts(switch: Path) -> tuple[Counter, Counter]:
    """What the stack's fault injector counted (chalicelib/local/faults.py): faults injected,
    and the chances each kind had (TransactWriteItems calls, stream batches)."""
    counts_file = Path(str(switch) + ".counts")
    if not counts_file.exists():
        return Counter(), Counter()
    counts = json.loads(counts_file.read_text())
    return Counter(counts.get("injected", {})), Counter(counts.get("drawn", {}))


def faults_line(injected: Counter, drawn: Counter) -> str:
    """`conflict 212, crash 14 of 41 stream batches, ...`: a batch fault beside its batches."""
    parts = []
    for kind in sorted(set(injected) | set(drawn)):
        if kind in BATCH_FAULTS:
            parts.append(f"{kind} {injected[kind]} of {drawn[kind]} stream batches")
        elif injected[kind]:
            parts.append(f"{kind} {injected[kind]}")
    return ", ".join(parts) or "none"


def wait_until_settled(deadline: float):
    """The audit, retried until it is OK or the deadline passes (the matcher and scheduler
    are still settling what the last seconds of load left)."""
    from chalicelib.admin.audit import audit

    while True:
        result = audit()
        if result.ok or time.monotonic() > deadline:
            return result
        time.sleep(2.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--traders", type=int, default=6)
    parser.add_argument("--markets", type=int, default=3)
    parser.add_argument("--faults", default=FAULTS, help="LAMBDEX_LOCAL_FAULTS for the stack")
    args = parser.parse_args(argv)
    if not (1 <= args.traders <= 32 and 1 <= args.markets <= 10 and 0 < args.seconds <= 1800):
        raise SystemExit("keep it bounded: 1-32 traders, 1-10 markets, at most 1800 seconds")

    temp = tempfile.TemporaryDirectory(prefix="lambdex-soak-")
    (Path(temp.name) / "ddb").mkdir()
    stack = Stack(Path(temp.name) / "ddb")
    stack.env.update(LAMBDEX_SCHEDULE_INTERVAL="2", LAMBDEX_LOCAL_FAULTS=args.faults)
    stack.env.update(SOAK_ENV)
    failures: list[str] = []
    try:
        print(f"starting the stack on {stack.url} (DynamoDB Local on {stack.ddb_url}) ...", flush=True)
        switch = Path(temp.name) / "faults-on"  # the faults run with the load, not during set-up
        stack.env["LAMBDEX_LOCAL_FAULTS_SWITCH"] = str(switch)
        stack.start(time.perf_counter() + 180)
        api = Api(stack.url, ADMIN_TOKEN)
        configure_models(stack.ddb_url, "lambdex-local")
        market_ids, tokens, keys, honest, attacker_key, eth_key = setup(api, args.markets, args.traders)
        stats = Stats()
        attacks = Attacks(api, attacker_key, eth_key, market_ids, tokens, stats, honest)
        print(f"{args.traders} traders and an attacker on {', '.join(market_ids)} for {args.seconds:g} s, "
              f"faults {args.faults} ...", flush=True)
        switch.touch()
        started = time.monotonic()
        stop_at = started + args.seconds
        threads = [threading.Thread(target=client, args=(api, key, market_ids, stop_at, stats, i), daemon=True)
                   for i, key in enumerate(keys)]
        threads.append(threading.Thread(target=attacks.run, args=(stop_at, 99, ATTACKS, keys[0]), daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.seconds + 120)
        elapsed = time.monotonic() - started
        switch.unlink()
        faults_seen, chances = fault_counts(switch)

        if attacks.collision:  # B1's match must have expired unpaid (20 one-second blocks) for the attack to bite
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status, rows = api.call("GET", f"/orders/{attacks.collision[0]}/matches?status=expired")
                if status == 200 and rows:
                    break
                time.sleep(1.0)
        result = wait_until_settled(time.monotonic() + SETTLE_WAIT)
        settle_seconds = time.monotonic() - started - elapsed
        requests = sum(len(v) for v in stats.latency.values())
        every = [s for values in stats.latency.values() for s in values]
        statuses = Counter()
        for per_operation in stats.statuses.values():
            statuses.update(per_operation)
        bad = {s: n for s, n in statuses.items() if s >= 500 or s == 0}
        print(f"\nsoak: {elapsed:.0f} s, {args.traders} traders + 1 attacker, {args.markets} markets")
        print(f"requests: {requests} = {requests / elapsed:.1f}/s; orders placed: {stats.placed} = "
              f"{stats.placed / elapsed:.1f}/s; latency p50 {percentile(every, 50) * 1000:.1f} ms, "
              f"p99 {percentile(every, 99) * 1000:.1f} ms")
        print(f"{'operation':<22}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}   statuses")
        for operation in sorted(stats.latency):
            values = stats.latency[operation]
            print(f"{operation:<22}{len(values):>8}{percentile(values, 50) * 1000:>10.1f}"
                  f"{percentile(values, 99) * 1000:>10.1f}   {dict(sorted(stats.statuses[operation].items()))}")
        print("faults injected (and survived if the checks below pass): " + faults_line(faults_seen, chances))
        print("attacks tried / refused or contained: " + ", ".join(
            f"{name} {attacks.tried[name]}/{attacks.refused[name]}" for name in ATTACKS))
        print(f"settled {settle_seconds:.0f} s after the load stopped; " + result.summary().splitlines()[0])
        if not result.ok:
            failures.append("audit: " + "; ".join(result.findings[:20]))
        if attacks.collision:
            from chalicelib.ledger.orders import get_order

            seller, b3 = (get_order(h) for h in attacks.collision)
            status, rows = api.call("GET", f"/orders/{seller.tx_hash}/matches?status=all")
            with_b3 = [f"{m['id'][-12:]} {m['status']}" for m in rows if m["tx1_hash"] == b3.tx_hash]
            expired = [m for m in rows if m["status"] == "expired"]
            print(f"match id collision: the seller's match with B1 {'expired' if expired else 'did NOT expire'}; "
                  f"the seller is {seller.status} ({seller.give_remaining} left), B3 {b3.status}; "
                  f"its matches with B3 (id ends): {', '.join(with_b3)}")
            if not expired:
                failures.append("match_id_collision: the unpaid match did not expire within the run")
        if bad:
            failures.append(f"5xx or no answer: {bad}")
        if attacks.unexpected:
            failures.append("attacks not refused: " + "; ".join(attacks.unexpected[:10]))
        expected = ["conflict", "throttle", "lost"] + [k for k in BATCH_FAULTS if chances[k] >= SURE_AFTER]
        if not all(faults_seen.get(k) for k in expected) and args.faults == FAULTS:
            failures.append(f"not every fault was injected: {dict(faults_seen)} (chances {dict(chances)})")
    finally:
        code = stack.stop()
        temp.cleanup()
    if code not in (0, None):
        failures.append(f"the stack exited with {code}")
    print("soak " + ("OK" if not failures else "FAILED:\n  " + "\n  ".join(failures)), flush=True)
    return 0 if not failures else 1


# A stage other than `local` with its own secrets: the stage-safe defaults are in force (the
# fixed sign-in message is off), as in a deployment.
SOAK_ENV = {
    "LAMBDEX_STAGE": "soak",
    "LAMBDEX_BLOCK_SECONDS": "1",  # a pending match expires 20 blocks (20 s) after it is made
    "LAMBDEX_ALGOD_TOKEN": secrets.token_hex(32),
    "LAMBDEX_JWT_SECRET": secrets.token_hex(32),
    "LAMBDEX_ADDRESS_SEED": secrets.token_hex(32),
}


if __name__ == "__main__":
    sys.exit(main())
