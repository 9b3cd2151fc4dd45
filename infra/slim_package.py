"""Rewrite the deployment zip `chalice package` made: only what Lambda runs, the botocore
the tests ran with, compiled bytecode; then check the result.

    python infra/slim_package.py build/deployment.zip --template build/sam.json

- botocore, deliberately: the functions use botocore (PynamoDB, and the SSM / Secrets
  Manager / API Gateway management clients), never boto3. `requirements.txt` pins it (the
  version `requirements-dev.txt` installs for the tests), so pip puts exactly that one in
  the package with its dependencies, and it is shipped: in Lambda /var/task comes before
  the runtime's /var/runtime on `sys.path`, so production runs the tested botocore, not
  whichever the runtime carries this month. Of botocore's service models only those of
  `BOTOCORE_SERVICES` are kept (the others are 15 MB zipped that nothing loads). boto3 and
  s3transfer, if anything pulled them in, are dropped (nothing imports them).
  `--runtime-botocore` drops botocore and its dependencies too (an untested botocore
  then: the runtime's).
- Local-only code: `chalicelib/local/` (the local runner, HTTP and WebSocket servers,
  DynamoDB Local start-up); Chalice packages only app.py, chalicelib/ and the
  requirements, so tests/ and bench/ never get in (the check below makes sure).
- Unused sources: C/Cython sources and headers, type stubs (`.c .h .pyx .pxd .pyi`), and
  of Swagger UI's files all but the two /docs serves (no source maps, no other builds).
- Bytecode: /var/task is read-only, so without shipped `.pyc` every cold start compiles
  every module it imports from source. Chalice stamps every entry with 1980-01-01, which
  would invalidate timestamp-checked `.pyc`, so they are compiled as *unchecked-hash*
  pycs (PEP 552): used as they are, never re-validated against the source. The compiling
  interpreter must be the runtime's minor version (the magic number differs per version).
- The check (`check`): nothing local-only, no tests/ or bench/, botocore at the pinned
  version, and `import app` and a client of each of `BOTOCORE_SERVICES` succeed in a fresh
  interpreter whose only path is the package.

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
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Top-level names (packages, modules, .dist-info prefixes): never imported by the functions...
UNUSED_PACKAGES = ("boto3", "s3transfer")
# ... and botocore with its dependencies, which Lambda's Python runtime also has (--runtime-botocore).
BOTOCORE = ("botocore", "jmespath", "dateutil", "python_dateutil", "six", "urllib3")
# The AWS services the functions make clients for (a test reads them out of chalicelib/):
# botocore's models of the ~400 others are 15 MB of the zip that nothing loads.
BOTOCORE_SERVICES = ("dynamodb", "ssm", "secretsmanager", "apigatewaymanagementapi")
LOCAL_ONLY = ("chalicelib/local/",)
# Of Swagger UI's files (swagger-ui-bundle-v2) /docs serves two (chalicelib/api/docs.py); the
# source maps and other builds are 10 MB unzipped.
SWAGGER_UI_DIR = "swagger_ui_bundle/vendor/"
SWAGGER_UI_SERVED = ("swagger-ui-bundle.js", "swagger-ui.css")
NEVER_SHIPPED = ("tests/", "bench/", "infra/", "node_modules/", ".venv/")
UNUSED_SUFFIXES = (".c", ".h", ".pyx", ".pxd", ".pyi")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def top_level(name: str) -> str:
    top = name.split("/", 1)[0]
    if top.endswith(".dist-info"):
        top = top[: -len(".dist-info")].rsplit("-", 1)[0]
    return top.removesuffix(".py")


def keep(name: str, runtime_botocore: bool = False) -> bool:
    if name.endswith(UNUSED_SUFFIXES) or name.startswith(LOCAL_ONLY):
        return False
    if "/__pycache__/" in f"/{name}" or name.endswith(".pyc"):
        return False  # compiled again below, for the runtime's interpreter
    top = top_level(name)
    if name.startswith(SWAGGER_UI_DIR):
        return name.rsplit("/", 1)[-1] in SWAGGER_UI_SERVED
    if name.startswith("botocore/data/") and name.count("/") >= 3:  # botocore/data/<service>/<version>/...
        return not runtime_botocore and name.split("/")[2] in BOTOCORE_SERVICES
    return top not in UNUSED_PACKAGES and not (runtime_botocore and top in BOTOCORE)


def pinned_botocore(requirements: Path = ROOT / "requirements.txt") -> str | None:
    for line in requirements.read_text().splitlines():
        name, _, version = line.split("#", 1)[0].strip().partition("==")
        if name.strip().lower() == "botocore":
            return version.strip()
    return None


def check(path: Path, runtime_botocore: bool = False, import_app: bool = True) -> list[str]:
    """What is wrong with the package at `path` (nothing: an empty list)."""
    problems = []
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        with tempfile.TemporaryDirectory() as tmp:
            for name in names:
                if name.startswith(LOCAL_ONLY + NEVER_SHIPPED):
                    problems.append(f"{name}: not code Lambda runs")
            shipped = sorted({n.split("/", 1)[0].removeprefix("botocore-").removesuffix(".dist-info")
                              for n in names if n.startswith("botocore-") and ".dist-info/" in n})
            served = {n.rsplit("/", 1)[-1] for n in names if n.startswith(SWAGGER_UI_DIR)}
            if served != set(SWAGGER_UI_SERVED):
                problems.append(f"Swagger UI files: {sorted(served)}; /docs serves {list(SWAGGER_UI_SERVED)}")
            if runtime_botocore:
                if shipped:
                    problems.append(f"botocore {shipped} shipped although --runtime-botocore")
            elif shipped != [pinned_botocore()]:
                problems.append(f"botocore in the package: {shipped or 'none'}; requirements.txt pins "
                                f"{pinned_botocore()}")
            if import_app and not problems:
                archive.extractall(tmp)
                env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": tmp, "PYTHONDONTWRITEBYTECODE": "1",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "check",
                       "AWS_SECRET_ACCESS_KEY": "check"}
                # -S: no site-packages, so every import comes from the package (or the standard library);
                # a client of each service the functions use is built from the models it ships
                script = ("import app, botocore.session; session = botocore.session.get_session()\n"
                          f"for service in {BOTOCORE_SERVICES!r}: session.create_client(service)\n"
                          "print(botocore.__file__)")
                done = subprocess.run([sys.executable, "-S", "-c", script] if not runtime_botocore else
                                      [sys.executable, "-S", "-c", "import app"],
                                      cwd=tmp, env=env, capture_output=True, text=True, timeout=120)
                if done.returncode != 0:
                    problems.append("import app failed from the package alone:\n" + done.stderr[-2000:])
                elif not runtime_botocore and not done.stdout.strip().startswith(tmp):
                    problems.append(f"botocore imported from {done.stdout.strip()}, not from the package")
    return problems


def zip_sizes(path: Path) -> tuple[int, int]:
    with zipfile.ZipFile(path) as archive:
        return path.stat().st_size, sum(i.file_size for i in archive.infolist())


def slim(path: Path, runtime: str, runtime_botocore: bool = False, compile_bytecode: bool = True) -> dict:
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
                if not keep(info.filename, runtime_botocore):
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
    parser.add_argument("--runtime-botocore", action="store_true",
                        help="drop botocore and its dependencies: use the Lambda runtime's (untested) botocore")
    parser.add_argument("--no-bytecode", action="store_true", help="do not add .pyc files")
    args = parser.parse_args(argv)
    runtime = args.runtime or runtime_of(args.template)
    report = slim(args.zip, runtime, args.runtime_botocore, not args.no_bytecode)
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
    problems = check(args.zip, args.runtime_botocore)
    for problem in problems:
        print(f"  PACKAGE CHECK FAILED: {problem}", file=sys.stderr)
    if problems:
        return 1
    botocore = "the runtime's" if args.runtime_botocore else pinned_botocore()
    print(f"  checked: no local-only code, botocore {botocore}, `import app` and clients of "
          f"{', '.join(BOTOCORE_SERVICES)} from the package alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
