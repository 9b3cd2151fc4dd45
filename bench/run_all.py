"""Run every benchmark in sequence, each in its own process: `python bench/run_all.py` (`make bench`).

Prints, before and after, the date, the commit and the load average (the machine may be
shared), and at the end one table of every target the benchmarks recorded (bench/_summary.py):
figure, floor or peer of the same run, ratio, target, met or NOT met. `match_latency.py` runs
inside `latency_depth.py` (its run at 20 resting orders is the plain match-latency figure).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import _summary  # noqa: E402

BENCHMARKS = ("cold_start.py", "calls_per_route.py", "settlement_cost.py", "book_depth.py", "matcher_throughput.py",
              "cpu_cost.py", "ticker_cost.py", "latency_depth.py", "load.py", "ws_fanout.py")
# seconds; the others 240. latency_depth starts the local stack four times (20 and 2,000
# resting orders, with and without the realtime publisher); load.py starts it once and
# audits it; cpu_cost runs DynamoDB Local, then moto.
TIMEOUTS = {"ticker_cost.py": 420, "book_depth.py": 600, "cpu_cost.py": 360, "latency_depth.py": 1200, "load.py": 360,
            "ws_fanout.py": 360}


def machine() -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "?"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, commit {commit}, {os.cpu_count()} cores, "
            f"load average {load} (1, 5, 15 min)")


def main() -> int:
    chosen = sys.argv[1:] or BENCHMARKS  # `python bench/run_all.py book_depth.py load.py`: only those
    failed = []
    begun = time.perf_counter()
    print(f"# make bench: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="lambdex-bench-summary-") as tmp:
        summary = Path(tmp) / "targets.jsonl"
        summary.touch()
        env = dict(os.environ, **{_summary.ENV: str(summary)})
        for name in chosen:
            print(f"\n======== bench/{name} ========", flush=True)
            started = time.perf_counter()
            try:
                code = subprocess.run([sys.executable, str(ROOT / "bench" / name)], cwd=ROOT, env=env,
                                      timeout=TIMEOUTS.get(name, 240)).returncode
            except subprocess.TimeoutExpired:
                code = "timeout"
            print(f"-------- bench/{name}: exit {code}, {time.perf_counter() - started:.1f} s", flush=True)
            if code != 0:
                failed.append(name)
        print(f"\n======== summary ({(time.perf_counter() - begun) / 60:.1f} min) ========")
        print(f"# end: {machine()}")
        print("\n".join(_summary.table(summary)))
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
