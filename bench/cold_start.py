"""Cold-start import time: `python -X importtime -c "import <module>"` in fresh processes.

For each module (app, the bare-stack floor `bench/bare_stack.py`, chalicelib.ledger.models,
chalicelib.auth.ethereum) runs N fresh
interpreters with the environment a Lambda would have (dummy AWS credentials and region,
LAMBDEX_* defaults), parses the `-X importtime` report from stderr and prints min/median/max
of the cumulative time of the top-level import, and the 10 heaviest imports (cumulative)
of the median run, and `import app` as a ratio of the floor. Also prints the wall time of
each whole process and its CPU time (user + sys, from the OS): on a loaded machine the CPU
time moves much less than the wall-clock import time, so `import app` is also given as a
ratio of the floor in CPU, net of a bare interpreter's start-up (`python -c pass`, same runs).
Last, what the cold start no longer pays and the first request does instead: building the
validators of the request-body models (`defer_build`), timed per model in a fresh process.
Prints figures only; asserts nothing.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import _summary  # noqa: E402

RUNS = 7
FLOOR = "bench.bare_stack"  # chalice + pynamodb + pydantic + botocore, no Lambdex code
# Powertools' two parts, alone: what they add to a cold start (app imports the Logger at start-up,
# the Metrics on the first metric)
POWERTOOLS = ("aws_lambda_powertools.logging", "aws_lambda_powertools.metrics")
# the floor imported with the collector paused, as app.py imports everything: like for like
FLOOR_GC_PAUSED = "bench.bare_stack_gc_paused"
MODULES = ("app", FLOOR, FLOOR_GC_PAUSED, "chalicelib.ledger.models", "chalicelib.auth.ethereum", *POWERTOOLS)
TARGET_RATIO = 1.5  # `import app` within 1.5x of the floor (issue 13)
TOP = 10

LAMBDA_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "lambdex-dev",
    "LAMBDEX_STAGE": "dev",
    "LAMBDEX_TABLE_PREFIX": "lambdex-dev",
    "LAMBDEX_LOG_LEVEL": "INFO",
}


def lambda_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDEX_", "AWS_"))}
    env.update(LAMBDA_ENV)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def parse_importtime(stderr: str) -> list[tuple[str, int, int]]:
    """(module, self_us, cumulative_us) per line of `-X importtime` output."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:"):].split("|", 2)
        rows.append((name.rstrip(), int(self_us), int(cumulative_us)))
    return rows


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def one_run(module: str) -> tuple[int, list[tuple[str, int, int]], float, float]:
    started, cpu_before = time.perf_counter(), children_cpu()
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], cwd=ROOT,
                          env=lambda_env(), capture_output=True, text=True, timeout=60)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"import {module} failed:\n{done.stderr[-3000:]}")
    rows = parse_importtime(done.stderr)
    total = next(c for name, _, c in rows if name.strip() == module)
    return total, rows, wall, cpu


def interpreter_cpu(runs: int = RUNS) -> float:
    """Median CPU seconds of `python -c pass` in the same environment: the start-up every process pays."""
    used = []
    for _ in range(runs):
        before = children_cpu()
        subprocess.run([sys.executable, "-c", "pass"], cwd=ROOT, env=lambda_env(), check=True, timeout=60)
        used.append(children_cpu() - before)
    return statistics.median(used)


# Fresh process: import app, then build each request-body model's validator as its first
# request would, timing each build (defer_build moved this out of the cold start).
FIRST_USE = """
import inspect, json, sys, time
import app  # noqa: F401
from pydantic import BaseModel
times = {}
for name, module in sorted(sys.modules.items()):
    if not name.startswith("chalicelib.api."):
        continue
    for cls in vars(module).values():
        if inspect.isclass(cls) and issubclass(cls, BaseModel) and cls.__module__ == name \
                and cls.model_config.get("defer_build") and not cls.__pydantic_complete__:
            started = time.process_time()
            cls.model_rebuild()
            times[f"{name}.{cls.__qualname__}"] = time.process_time() - started
print(json.dumps(times))
"""


def first_use() -> dict[str, float]:
    """CPU seconds per deferred body model, median of 3 fresh processes."""
    runs = []
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", FIRST_USE], cwd=ROOT, env=lambda_env(), capture_output=True,
                              text=True, timeout=60, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def measure(module: str, runs: int = RUNS) -> dict:
    results = [one_run(module) for _ in range(runs)]
    totals = sorted(r[0] for r in results)
    median_total = statistics.median_low(totals)
    median_run = next(r for r in results if r[0] == median_total)
    by_name: dict[str, tuple[str, int, int]] = {}
    for name, self_us, cumulative in median_run[1]:
        name = name.strip()  # a module may be reported twice (package, then `from pkg.mod import`)
        if name != module and cumulative > by_name.get(name, ("", -1, 0))[1]:
            by_name[name] = (name, cumulative, self_us)
    heaviest = sorted(by_name.values(), key=lambda row: row[1], reverse=True)[:TOP]
    return {"module": module, "min": totals[0], "median": median_total, "max": totals[-1],
            "wall_median": statistics.median(r[2] for r in results),
            "cpu_median": statistics.median(r[3] for r in results), "heaviest": heaviest}


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def main() -> list[dict]:
    print(f"# cold_start: python -X importtime -c 'import <module>', {RUNS} fresh processes each")
    print(f"# python {sys.version.split()[0]} at {sys.executable}; cumulative import time in ms\n")
    reports = [measure(module) for module in MODULES]
    bare = interpreter_cpu()
    print(f"| {'module':<28} | {'min ms':>8} | {'median ms':>9} | {'max ms':>8} | {'process wall ms (median)':>24} "
          f"| {'process CPU ms (median)':>23} |")
    print(f"|{'-' * 30}|{'-' * 10}|{'-' * 11}|{'-' * 10}|{'-' * 26}|{'-' * 25}|")
    for r in reports:
        print(f"| {r['module']:<28} | {ms(r['min']):>8} | {ms(r['median']):>9} | {ms(r['max']):>8} "
              f"| {r['wall_median'] * 1000:>24.1f} | {r['cpu_median'] * 1000:>23.1f} |")
    print(f"| {'(python -c pass)':<28} | {'':>8} | {'':>9} | {'':>8} | {'':>24} | {bare * 1000:>23.1f} |")
    by_module = {r["module"]: r for r in reports}
    app, floor = by_module["app"], by_module[FLOOR]
    print(f"\nimport app / bare-stack floor ({FLOOR}): medians {ms(app['median'])} / {ms(floor['median'])} ms = "
          f"{app['median'] / floor['median']:.2f}x, minima {ms(app['min'])} / {ms(floor['min'])} ms = "
          f"{app['min'] / floor['min']:.2f}x (target <= {TARGET_RATIO}x; on a loaded machine the minima are steadier)")
    paused = by_module[FLOOR_GC_PAUSED]
    print(f"import app / the floor with the collector paused ({FLOOR_GC_PAUSED}, like for like; for reference): "
          f"minima {ms(app['min'])} / {ms(paused['min'])} ms = {app['min'] / paused['min']:.2f}x, medians "
          f"{ms(app['median'])} / {ms(paused['median'])} ms = {app['median'] / paused['median']:.2f}x")
    ratio = app["min"] / floor["min"]
    _summary.record("cold_start", "import app (min of 7 processes)", f"{ms(app['min'])} ms",
                    f"{FLOOR} {ms(floor['min'])} ms", ratio, f"<= {TARGET_RATIO}x", ratio <= TARGET_RATIO)
    app_cpu, floor_cpu = app["cpu_median"] - bare, floor["cpu_median"] - bare
    print(f"import app / floor in process CPU net of the interpreter's start-up: {app_cpu * 1000:.1f} / "
          f"{floor_cpu * 1000:.1f} ms = {app_cpu / floor_cpu:.2f}x "
          "(medians; for reference, the target is on the minima above)")
    _summary.record("cold_start", "import app, process CPU net of `python -c pass` (median of 7)",
                    f"{app_cpu * 1000:.1f} ms", f"{FLOOR} {floor_cpu * 1000:.1f} ms", app_cpu / floor_cpu,
                    "(reference)", None)
    deferred = first_use()
    print(f"\nDeferred to first use (defer_build): building a request-body model's validator, CPU ms, median of 3 "
          f"fresh processes; {len(deferred)} models, {sum(deferred.values()) * 1000:.1f} ms in all; a request pays "
          f"only its own body's (and the models it nests):")
    for name, seconds in sorted(deferred.items(), key=lambda item: -item[1]):
        print(f"  {seconds * 1000:>7.2f}  {name}")
    for r in reports:
        print(f"\n{TOP} heaviest imports under `import {r['module']}` (median run, cumulative ms, self ms):")
        for name, cumulative, self_us in r["heaviest"]:
            print(f"  {ms(cumulative):>8}  {ms(self_us):>7}  {name}")
    return reports


if __name__ == "__main__":
    main()
