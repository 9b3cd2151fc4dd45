"""The soak test's short variant (`make soak` runs the long one): the local stack under
honest load, an attacker and injected faults settles everything, audits OK and never
answers a 5xx. bench/soak.py prints the figures; this asserts its verdict."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import NO_DYNAMODB_LOCAL

ROOT = Path(__file__).resolve().parents[2]
SECONDS = os.environ.get("LAMBDEX_SOAK_SECONDS", "15")


def test_a_short_soak_under_load_attacks_and_faults_settles_and_audits_ok():
    if NO_DYNAMODB_LOCAL and not os.environ.get("CI"):
        pytest.skip(NO_DYNAMODB_LOCAL)
    done = subprocess.run([sys.executable, "bench/soak.py", "--seconds", SECONDS, "--traders", "3", "--markets", "2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    print(done.stdout[-6000:])
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "soak OK" in done.stdout
