"""End-to-end match latency against book depth: `bench/match_latency.py` on the local stack
with 20 and with 2,000 resting orders that never cross (BENCH_RESTING), one stack each.
Prints both runs' figures and the ratio of the p50 match latencies (issue 11's acceptance:
p50 at 2,000 within 1.3x of p50 at 20). Asserts nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import _summary  # noqa: E402

DEPTHS = (20, 2_000)


def main() -> int:
    p50 = {}
    for depth in DEPTHS:
        run = subprocess.run([sys.executable, str(ROOT / "bench" / "match_latency.py")], cwd=ROOT,
                             env=dict(os.environ, BENCH_RESTING=str(depth)), capture_output=True, text=True,
                             timeout=600)
        print(f"\n---- {depth} resting orders ----\n{run.stdout}{run.stderr[-2000:] if run.returncode else ''}")
        found = re.search(r"\| match latency, ms \(placing response -> filled\)\s*\|\s*([\d.]+)", run.stdout)
        if found:
            p50[depth] = float(found.group(1))
    if len(p50) == len(DEPTHS):
        low, high = DEPTHS
        ratio = p50[high] / p50[low]
        print(f"p50 match latency: {p50[low]:.1f} ms at {low} resting, {p50[high]:.1f} ms at {high:,} resting: "
              f"{ratio:.2f}x (target <= 1.3x: {'met' if ratio <= 1.3 else 'NOT met'})")
        _summary.record("latency_depth", f"end-to-end match latency p50 at {high:,} resting",
                        f"{p50[high]:.1f} ms", f"p50 at {low} resting {p50[low]:.1f} ms", ratio, "<= 1.3x",
                        ratio <= 1.3)
        return 0
    print("a run failed: no ratio")
    _summary.record("latency_depth", "end-to-end match latency p50, 2,000 vs 20 resting", "a run failed",
                    target="<= 1.3x", met=False)
    return 1


if __name__ == "__main__":
    sys.exit(main())
