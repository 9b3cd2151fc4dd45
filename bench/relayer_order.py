"""Cost of one `POST /v0/order` and the cold-start import time of app.py.

Prints: 0x v1 hash time, eth_sign recovery time, DynamoDB round trips of one
submission (counted with a botocore hook on moto, as tests/support.py does), the
in-process request time on moto (not a DynamoDB latency figure), and the total of
`python -X importtime -c "import app"` in a fresh process.

    python bench/relayer_order.py [--orders N]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cold_start() -> tuple[float, float, list[tuple[int, str]], list[str]]:
    """(cumulative µs of `import app` per -X importtime, wall seconds, the 5 slowest modules by
    self time, signature-stack modules imported eagerly) of one fresh process."""
    env = {**os.environ, "LAMBDEX_LOG_LEVEL": "WARNING"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    total, rows, eager = 0, [], []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            self_us, cumulative, name = int(match[1]), int(match[2]), match[4]
            rows.append((self_us, name))
            if name == "app":
                total = cumulative
            if name.split(".")[0] in ("eth_account", "eth_keys", "eth_hash", "eth_utils", "jwt", "coincurve"):
                eager.append(name)
    return total, wall, sorted(rows, reverse=True)[:5], eager


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50)
    args = parser.parse_args()

    runs = [cold_start() for _ in range(4)]
    first, best = runs[0], min(runs, key=lambda r: r[0])
    print(f"cold start: import app = {best[0] / 1000:.1f} ms best of {len(runs)} fresh processes "
          f"(-X importtime cumulative; wall {best[1] * 1000:.0f} ms); first run {first[0] / 1000:.1f} ms "
          f"(includes writing .pyc if they were stale)")
    print("  slowest modules (self): " + ", ".join(f"{n} {us / 1000:.1f} ms" for us, n in best[2]))
    print(f"  signature stack imported by `import app`: {best[3] or 'none (eth-account, eth-keys, PyJWT load lazily)'}")

    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled", LAMBDEX_TABLE_PREFIX="test",
                      LAMBDEX_LOG_LEVEL="WARNING")
    from chalice.test import Client

    from chalicelib.auth.ethereum import signer_matches, zeroex_v1_order_hash
    from tests import support
    from tests.api.relayer_helpers import ALICE, E18, WETH, ZRX, addr, fund, make_order, post, setup_market

    clock = support.make_clock()
    with support.moto_ledger(clock):
        setup_market(clock)
        fund(clock, addr(ALICE), "ZRX", 10**6 * E18)
        signed = [make_order(ALICE, ZRX, E18, WETH, E18 // 1000, clock, salt=i) for i in range(args.orders)]

        hash_times, recover_times = [], []
        for order in signed:
            t = time.perf_counter()
            digest = bytes.fromhex(zeroex_v1_order_hash(order))
            hash_times.append(time.perf_counter() - t)
            sig = order["ecSignature"]
            t = time.perf_counter()
            assert signer_matches(order["maker"], digest, sig["v"], bytes.fromhex(sig["r"][2:]),
                                  bytes.fromhex(sig["s"][2:]), allow_unprefixed=False)
            recover_times.append(time.perf_counter() - t)
        print(f"order hash (keccak of the packed v1 order): median {statistics.median(hash_times) * 1e6:.0f} µs")
        print(f"signature recovery (prefixed eth_sign):      median {statistics.median(recover_times) * 1e3:.2f} ms")

        import app

        with Client(app.app) as client:
            calls_per_order: list[Counter] = []
            request_times = []
            for order in signed:
                with support.count_calls() as calls:
                    t = time.perf_counter()
                    response = post(client, "/v0/order", order)
                    request_times.append(time.perf_counter() - t)
                assert response.status_code == 201, response.body
                calls_per_order.append(Counter(calls))
            typical = calls_per_order[-1]
            print(f"DynamoDB round trips per POST /v0/order: {sum(typical.values())} "
                  f"({', '.join(f'{op} {n}' for op, n in sorted(typical.items()))})")
            with support.count_calls() as calls:
                assert post(client, "/v0/order", signed[0]).status_code == 200
            print(f"  resubmission (idempotent): {len(calls)} round trips ({', '.join(sorted(set(calls)))})")
            print(f"whole request in-process on moto: median {statistics.median(request_times) * 1e3:.1f} ms "
                  f"over {len(signed)} orders (moto time, not DynamoDB's)")


if __name__ == "__main__":
    main()
