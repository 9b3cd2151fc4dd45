"""Run every benchmark in sequence, each in its own process: `python bench/run_all.py` (`make bench`)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ("cold_start.py", "calls_per_route.py", "settlement_cost.py", "match_latency.py", "ws_fanout.py",
              "book_depth.py", "matcher_throughput.py", "cpu_cost.py")
# seconds; the others 240. Writing a 10,000-order book into DynamoDB Local takes minutes;
# cpu_cost runs DynamoDB Local, then moto.
TIMEOUTS = {"book_depth.py": 900, "cpu_cost.py": 330}


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n======== bench/{name} ========", flush=True)
        started = time.perf_counter()
        try:
            code = subprocess.run([sys.executable, str(ROOT / "bench" / name)], cwd=ROOT,
                                  timeout=TIMEOUTS.get(name, 240)).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        print(f"-------- bench/{name}: exit {code}, {time.perf_counter() - started:.1f} s", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
