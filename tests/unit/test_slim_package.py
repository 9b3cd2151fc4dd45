"""infra/slim_package.py: only what Lambda runs, the pinned botocore shipped, unchecked-hash .pyc,
and the check that refuses a package with local-only code, another botocore or a broken `import app`.
`make package` (part of `make test` through `make lint-infra`) runs the check on the real zip."""

from __future__ import annotations

import importlib.util
import sys
import zipfile

import pytest

from infra import slim_package

RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
PIN = slim_package.pinned_botocore()


def make_zip(path, app: str = "import botocore\nX = 1\n") -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", app)
        archive.writestr("chalicelib/__init__.py", "")
        archive.writestr("chalicelib/local/runner.py", "raise SystemExit('the local runner')")
        archive.writestr("botocore/__init__.py", "")
        archive.writestr(f"botocore-{PIN}.dist-info/METADATA", "")
        archive.writestr("boto3/__init__.py", "")
        archive.writestr("boto3-1.44.5.dist-info/METADATA", "")
        archive.writestr("python_dateutil-2.9.0.post0.dist-info/METADATA", "")
        archive.writestr("six.py", "")
        archive.writestr("cytoolz/itertoolz.c", "int x;")
        archive.writestr("cytoolz/__init__.pyi", "")
        archive.writestr("pydantic/__init__.py", "")
        for name in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-bundle.js.map", "swagger-ui-es-bundle.js"):
            archive.writestr(f"swagger_ui_bundle/vendor/swagger-ui-5.31.0/{name}", "")


def test_botocore_is_pinned_in_the_lambda_requirements_and_is_what_the_tests_run():
    import botocore

    assert PIN is not None and botocore.__version__ == PIN


def test_slim_ships_the_pinned_botocore_and_drops_local_code_boto3_and_sources(tmp_path):
    path = tmp_path / "deployment.zip"
    make_zip(path)
    report = slim_package.slim(path, RUNTIME)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        pyc = archive.read(f"__pycache__/app.{sys.implementation.cache_tag}.pyc")
    assert {"app.py", "chalicelib/__init__.py", "pydantic/__init__.py", "botocore/__init__.py", "six.py",
            f"botocore-{PIN}.dist-info/METADATA", "python_dateutil-2.9.0.post0.dist-info/METADATA"} <= names
    assert not [n for n in names if n.startswith(("chalicelib/local", "boto3", "cytoolz/itertoolz.c"))]
    assert sorted(n.rsplit("/", 1)[-1] for n in names if n.startswith("swagger_ui_bundle/vendor/")) == [
        "swagger-ui-bundle.js", "swagger-ui.css"]
    assert "cytoolz/__init__.pyi" not in names
    assert f"pydantic/__pycache__/__init__.{sys.implementation.cache_tag}.pyc" in names
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # PEP 552: hash-based, not checked against the source
    assert set(report["removed"]) >= {"chalicelib", "boto3", "boto3-1.44.5.dist-info", "cytoolz"}
    assert slim_package.check(path, import_app=False) == []  # the real zip is imported by `make package`


def test_runtime_botocore_drops_botocore_and_its_dependencies(tmp_path):
    path = tmp_path / "deployment.zip"
    make_zip(path)
    slim_package.slim(path, RUNTIME, runtime_botocore=True)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert not [n for n in names if n.startswith(("botocore", "python_dateutil", "six"))]
    assert slim_package.check(path, runtime_botocore=True, import_app=False) == []


@pytest.mark.parametrize("extra, problem", [
    ({"chalicelib/local/http_server.py": ""}, "chalicelib/local/http_server.py: not code Lambda runs"),
    ({"tests/test_x.py": ""}, "tests/test_x.py: not code Lambda runs"),
    ({"bench/load.py": ""}, "bench/load.py: not code Lambda runs"),
])
def test_the_check_refuses_code_lambda_does_not_run(tmp_path, extra, problem):
    path = tmp_path / "deployment.zip"
    make_zip(path)
    slim_package.slim(path, RUNTIME)
    with zipfile.ZipFile(path, "a") as archive:
        for name, text in extra.items():
            archive.writestr(name, text)
    assert slim_package.check(path) == [problem]


def test_the_check_refuses_another_botocore_and_a_broken_import(tmp_path):
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("app.py", "")
        archive.writestr("botocore-1.0.0.dist-info/METADATA", "")
        for name in slim_package.SWAGGER_UI_SERVED:
            archive.writestr(f"swagger_ui_bundle/vendor/swagger-ui-5.31.0/{name}", "")
    assert slim_package.check(other) == [f"botocore in the package: ['1.0.0']; requirements.txt pins {PIN}"]
    broken = tmp_path / "broken.zip"
    make_zip(broken, app="import chalicelib.local.runner\n")
    slim_package.slim(broken, RUNTIME)
    [problem] = slim_package.check(broken)
    assert problem.startswith("import app failed from the package alone") and "ModuleNotFoundError" in problem


def test_bytecode_for_another_runtime_is_refused(tmp_path):
    path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "")
    with pytest.raises(SystemExit, match="would not load"):
        slim_package.slim(path, "python3.9")


def test_the_kept_botocore_models_are_the_services_the_functions_make_clients_for():
    import re
    from pathlib import Path

    root = Path(slim_package.ROOT) / "chalicelib"
    used = set()
    for source in root.rglob("*.py"):
        if "local" in source.relative_to(root).parts:
            continue
        text = source.read_text()
        used |= set(re.findall(r'create_client\(\s*"([a-z0-9-]+)"', text))
        used |= set(re.findall(r'_client\("([a-z0-9-]+)"\)', text))
    assert used == set(slim_package.BOTOCORE_SERVICES)


def test_only_the_used_service_models_are_kept(tmp_path):
    path = tmp_path / "deployment.zip"
    make_zip(path)
    with zipfile.ZipFile(path, "a") as archive:
        for name in ("botocore/data/endpoints.json", "botocore/data/dynamodb/2012-08-10/service-2.json.gz",
                     "botocore/data/ec2/2016-11-15/service-2.json.gz", "botocore/data/s3/2006-03-01/paginators-1.json"):
            archive.writestr(name, "{}")
    slim_package.slim(path, RUNTIME)
    with zipfile.ZipFile(path) as archive:
        kept = {n for n in archive.namelist() if n.startswith("botocore/data/")}
    assert kept == {"botocore/data/endpoints.json", "botocore/data/dynamodb/2012-08-10/service-2.json.gz"}
