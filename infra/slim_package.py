"""Rewrite the deployment zip `chalice package` made: leave out what Lambda's runtime
already has, leave out sources nothing imports, and add compiled bytecode.

    python infra/slim_package.py build/deployment.zip --template build/sam.json

- Runtime-provided: the python3.x Lambda runtimes ship boto3 and botocore with their
  dependencies (jmespath, python-dateutil, six, urllib3, s3transfer) in /var/runtime.
  PynamoDB requires botocore, so pip puts all of it in the package (~21 MB unzipped,
  ~16 MB zipped) and Chalice keeps it. They are dropped unless `--keep-runtime-packages`.
  Nothing else in the package requires them (checked against the wheels' metadata).
- Unused sources: C/Cython sources and headers, type stubs (`.c .h .pyx .pxd .pyi`).
- Bytecode: /var/task is read-only, so without shipped `.pyc` every cold start compiles
  every module it imports from source. Chalice stamps every entry with 1980-01-01, which
  would invalidate timestamp-checked `.pyc`, so they are compiled as *unchecked-hash*
  pycs (PEP 552): used as they are, never re-validated against the source. The compiling
  interpreter must be the runtime's minor version (the magic number differs per version).

The rewritten zip is deterministic: sorted entries, fixed timestamps, the same file modes.
Prints what it removed and the sizes before and after.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import py_compile
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

# Top-level names (packages, modules, .dist-info prefixes) that Lambda's Python runtime provides.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "python_dateutil", "six", "urllib3")
UNUSED_SUFFIXES = (".c", ".h", ".pyx", ".pxd", ".pyi")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def is_runtime_provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    if top.endswith(".dist-info"):
        top = top[: -len(".dist-info")].rsplit("-", 1)[0]
    top = top.removesuffix(".py")
    return top in RUNTIME_PROVIDED


def keep(name: str, keep_runtime_packages: bool) -> bool:
    if name.endswith(UNUSED_SUFFIXES):
        return False
    if "/__pycache__/" in f"/{name}" or name.endswith(".pyc"):
        return False  # compiled again below, for the runtime's interpreter
    return keep_runtime_packages or not is_runtime_provided(name)


def zip_sizes(path: Path) -> tuple[int, int]:
    with zipfile.ZipFile(path) as archive:
        return path.stat().st_size, sum(i.file_size for i in archive.infolist())


def slim(path: Path, runtime: str, keep_runtime_packages: bool = False, compile_bytecode: bool = True) -> dict:
    wanted = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if compile_bytecode and runtime != wanted:
        raise SystemExit(f"the package is for {runtime} but this is {wanted}: its .pyc would not load there. "
                         f"Run with a {runtime} interpreter, or pass --no-bytecode.")
    before = zip_sizes(path)
    removed: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pkg"
        modes: dict[str, int] = {}
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                if not keep(info.filename, keep_runtime_packages):
                    top = info.filename.split("/", 1)[0]
                    removed[top] = removed.get(top, 0) + info.file_size
                    continue
                archive.extract(info, root)
                modes[info.filename] = info.external_attr
        failed = 0
        if compile_bytecode:
            ok = compileall.compile_dir(
                str(root), quiet=2, workers=os.cpu_count() or 1,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            if not ok:  # a module that does not compile on this version was never importable there either
                failed = sum(1 for p in root.rglob("*.py")
                             if not list(p.parent.glob(f"__pycache__/{p.stem}.*.pyc")))
        out = Path(tmp) / "out.zip"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for file in sorted(p for p in root.rglob("*") if p.is_file()):
                name = file.relative_to(root).as_posix()
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.external_attr = modes.get(name, 0o644 << 16)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, file.read_bytes(), compresslevel=9)
        shutil.move(out, path)
    after = zip_sizes(path)
    return {"before": before, "after": after, "removed": removed, "uncompiled": failed}


def runtime_of(template: Path) -> str:
    resources = json.loads(template.read_text())["Resources"]
    runtimes = {r["Properties"]["Runtime"] for r in resources.values() if r["Type"] == "AWS::Serverless::Function"}
    if len(runtimes) != 1:
        raise SystemExit(f"{template}: expected one Runtime for every function, found {sorted(runtimes)}")
    return runtimes.pop()


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("zip", type=Path)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--runtime", help="the functions' Runtime, e.g. python3.11")
    which.add_argument("--template", type=Path, help="the packaged template (sam.json): its functions' Runtime")
    parser.add_argument("--keep-runtime-packages", action="store_true", help="keep boto3/botocore and their deps")
    parser.add_argument("--no-bytecode", action="store_true", help="do not add .pyc files")
    args = parser.parse_args(argv)
    runtime = args.runtime or runtime_of(args.template)
    report = slim(args.zip, runtime, args.keep_runtime_packages, not args.no_bytecode)
    for top, size in sorted(report["removed"].items(), key=lambda kv: -kv[1]):
        if size >= 100_000:
            print(f"  removed {top:<40} {mb(size):>9} unzipped")
    small = sum(size for size in report["removed"].values() if size < 100_000)
    print(f"  removed {'(smaller entries)':<40} {mb(small):>9} unzipped")
    (zb, ub), (za, ua) = report["before"], report["after"]
    print(f"{args.zip}: {mb(zb)} zipped / {mb(ub)} unzipped -> {mb(za)} zipped / {mb(ua)} unzipped"
          f"{'' if args.no_bytecode else ' (with .pyc)'}; Lambda limits: 50 MB zipped upload, 250 MB unzipped")
    if report["uncompiled"]:
        print(f"  note: {report['uncompiled']} .py files do not compile on this interpreter (not importable)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
