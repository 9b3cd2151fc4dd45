"""infra/slim_package.py: runtime-provided packages and unused sources out, unchecked-hash .pyc in."""

from __future__ import annotations

import importlib.util
import sys
import zipfile

import pytest

from infra import slim_package

RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"


def test_slim_drops_runtime_packages_and_sources_and_adds_bytecode(tmp_path):
    path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "X = 1\n")
        archive.writestr("chalicelib/__init__.py", "")
        archive.writestr("botocore/__init__.py", "")
        archive.writestr("botocore-1.44.5.dist-info/METADATA", "")
        archive.writestr("python_dateutil-2.9.0.post0.dist-info/METADATA", "")
        archive.writestr("six.py", "")
        archive.writestr("cytoolz/itertoolz.c", "int x;")
        archive.writestr("cytoolz/__init__.pyi", "")
        archive.writestr("pydantic/__init__.py", "")
    report = slim_package.slim(path, RUNTIME)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        pyc = archive.read(f"__pycache__/app.{sys.implementation.cache_tag}.pyc")
    assert {"app.py", "chalicelib/__init__.py", "pydantic/__init__.py"} <= names
    assert not [n for n in names if n.startswith(("botocore", "python_dateutil", "six", "cytoolz/itertoolz.c"))]
    assert "cytoolz/__init__.pyi" not in names
    assert f"pydantic/__pycache__/__init__.{sys.implementation.cache_tag}.pyc" in names
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # PEP 552: hash-based, not checked against the source
    assert set(report["removed"]) >= {"botocore", "six.py", "cytoolz"}


def test_bytecode_for_another_runtime_is_refused(tmp_path):
    path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "")
    with pytest.raises(SystemExit, match="would not load"):
        slim_package.slim(path, "python3.9")
