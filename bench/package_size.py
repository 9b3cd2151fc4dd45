"""Deployment package size and cold-start import time from the package itself.

    make package && python bench/package_size.py [build/deployment.zip]

Sizes: the zip (what is uploaded; Lambda's limit is 50 MB) and the sum of its unzipped
entries (limit 250 MB, layers included), and the 12 largest top-level entries.

Cold start: the zip is extracted to a temporary folder (the function's /var/task) and each
entry point is imported in fresh interpreters the way Lambda's runtime does it: `python -S`
(no site-packages of this machine) with `PYTHONPATH` = the extracted package + a folder that
holds only what the python3.x runtime itself provides (boto3, botocore and their
dependencies, linked from this virtualenv), and `PYTHONDONTWRITEBYTECODE=1` (/var/task is
read-only, nothing can be cached between cold starts). Each figure is the cumulative
`-X importtime` of the entry's imports, median of RUNS processes, plus the median wall
time of the whole process. Measured twice: with the `.pyc` the package ships
(infra/slim_package.py) and with them deleted (what a cold start costs without them).

Entry points: every function's handler lives in app.py (`app.app` for the API,
`app.match_orders`, `app.run_scheduler`), so `import app` is the cold start of all three.
Also measured: the libraries the first signed 0x request imports lazily (eth_hash,
eth_keys), and building the DynamoDB client (botocore loads the service model; no call
is made). Prints figures only; asserts nothing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from cold_start import LAMBDA_ENV, parse_importtime  # noqa: E402

RUNS = 7
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
ENTRIES = {
    "import app  (api, matcher, scheduler)": "import app",
    "+ first 0x signature (eth_hash, eth_keys)": "import app; import eth_hash.auto; import eth_keys.datatypes",
    "+ DynamoDB client built": "import app; from chalicelib.ledger import db; db.client()",
}


def sizes(path: Path) -> tuple[int, int, list[tuple[str, int, int]]]:
    by_top: dict[str, list[int]] = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            top = info.filename.split("/", 1)[0]
            sums = by_top.setdefault(top, [0, 0])
            sums[0] += info.file_size
            sums[1] += info.compress_size
    largest = sorted(((top, u, c) for top, (u, c) in by_top.items()), key=lambda r: -r[1])[:12]
    return path.stat().st_size, sum(u for u, _ in by_top.values()), largest


def runtime_folder(into: Path) -> Path:
    """A folder holding only what Lambda's python runtime provides (as links)."""
    into.mkdir()
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise SystemExit(f"{name} is not installed here; it is needed to stand in for the Lambda runtime")
        source = Path(spec.origin)
        source = source.parent if source.name == "__init__.py" else source
        (into / source.name).symlink_to(source)
    return into


def one_run(task: Path, runtime: Path, code: str) -> tuple[int, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDEX_", "AWS_", "PYTHON"))}
    env.update(LAMBDA_ENV, PYTHONPATH=f"{task}{os.pathsep}{runtime}", PYTHONDONTWRITEBYTECODE="1")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-S", "-X", "importtime", "-c", code], cwd=task, env=env,
                          capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"`{code}` failed in the package:\n{done.stderr[-3000:]}")
    rows = parse_importtime(done.stderr)
    # `-X importtime` indents a module's name by 2 spaces per level below the top
    total = sum(c for name, _, c in rows if not name[1:].startswith(" "))
    return total, wall


def measure(task: Path, runtime: Path) -> dict[str, tuple[float, float]]:
    out = {}
    for label, code in ENTRIES.items():
        runs = [one_run(task, runtime, code) for _ in range(RUNS)]
        out[label] = (statistics.median(r[0] for r in runs) / 1000, statistics.median(r[1] for r in runs) * 1000)
    return out


def mb(n: int) -> str:
    return f"{n / 1e6:.1f}"


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "deployment.zip"
    if not path.exists():
        raise SystemExit(f"{path} does not exist: run `make package` first")
    zipped, unzipped, largest = sizes(path)
    print(f"# package_size: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    print(f"zipped {mb(zipped)} MB (limit 50), unzipped {mb(unzipped)} MB (limit 250)\n")
    print("| top-level entry | unzipped MB | zipped MB |\n|---|---:|---:|")
    for top, u, c in largest:
        print(f"| {top} | {mb(u)} | {mb(c)} |")
    with tempfile.TemporaryDirectory() as tmp:
        task = Path(tmp) / "task"
        with zipfile.ZipFile(path) as archive:
            archive.extractall(task)
        runtime = runtime_folder(Path(tmp) / "runtime")
        pyc = sum(1 for _ in task.rglob("*.pyc"))
        with_pyc = measure(task, runtime) if pyc else None
        for cache in list(task.rglob("__pycache__")):
            shutil.rmtree(cache)
        without_pyc = measure(task, runtime)
    print(f"\n# cold start: python {sys.version.split()[0]} -S -X importtime in the extracted package, "
          f"median of {RUNS} fresh processes, ms ({pyc} .pyc shipped)\n")
    print("| entry | import ms, .pyc shipped | process ms, .pyc shipped | import ms, no .pyc | process ms, no .pyc |")
    print("|---|---:|---:|---:|---:|")
    for label in ENTRIES:
        a = with_pyc[label] if with_pyc else (float("nan"), float("nan"))
        b = without_pyc[label]
        print(f"| {label} | {a[0]:.0f} | {a[1]:.0f} | {b[0]:.0f} | {b[1]:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
