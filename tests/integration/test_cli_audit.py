"""`lambdex audit` on DynamoDB Local: 10,000 journal entries replayed page by page with a
progress bar; the exit status names each kind of finding.

The ledger is written with BatchWriteItem into a DynamoDB Local of its own, in memory:
on disk it takes ~50 items/s on a loaded machine, in memory ~10 times that.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from chalicelib.ledger.models import configure
from chalicelib.local.dynamodb_local import LocalDatabase
from chalicelib.local.tables import ensure_tables
from lambdex_cli.main import app
from tests import ledger_builder, support

pytestmark = pytest.mark.ddblocal
PREFIX = "auditscale"
ENTRIES = 10_000


def run_audit(endpoint: str, prefix: str = PREFIX):
    return CliRunner().invoke(app, ["audit", "--endpoint", endpoint, "--prefix", prefix, "--page-size", "1000"],
                              catch_exceptions=False)


@pytest.fixture(scope="module")
def scale_ledger():
    if support.NO_DYNAMODB_LOCAL:
        pytest.skip(support.NO_DYNAMODB_LOCAL)
    with LocalDatabase(Path(tempfile.mkdtemp()) / "ddb", support.free_port(), jar=support.JAR,
                       allow_fallback=False, in_memory=True) as database:
        client = boto3.client("dynamodb", endpoint_url=database.endpoint_url, region_name="us-east-1")
        ensure_tables(client, prefix=PREFIX)
        started = time.perf_counter()
        balances = ledger_builder.build(client, PREFIX, ENTRIES)
        print(f"built {ENTRIES} entries in {time.perf_counter() - started:.1f} s")
        try:
            yield database.endpoint_url, balances, client
        finally:
            configure(endpoint=None, prefix="test")  # the audit pointed the models here


def test_audit_of_ten_thousand_entries_passes_with_a_progress_bar(scale_ledger):
    endpoint, balances, _ = scale_ledger
    result = run_audit(endpoint)
    assert result.exit_code == 0, result.output
    assert f"audit OK: {ENTRIES} entries, {len(balances)} balances" in result.stdout
    assert "journal" in result.stderr and f"{ENTRIES}/{ENTRIES}" in result.stderr  # the bar, on stderr
    assert "peak memory (RSS)" in result.stdout


def test_each_kind_of_finding_sets_its_bit(scale_ledger):
    endpoint, balances, client = scale_ledger
    (address, asset), _ = next(iter(balances.items()))
    client.update_item(TableName=f"{PREFIX}-balances", Key={"address": {"S": address}, "asset": {"S": asset}},
                       UpdateExpression="SET available = :v", ExpressionAttributeValues={":v": {"N": "-5"}})
    result = run_audit(endpoint)
    # the journal no longer explains the balance (1), it is negative (2), and the asset's total is off (8)
    assert result.exit_code == 1 | 2 | 8, result.output
    assert "audit FAILED" in result.stdout and address in result.stdout
    client.put_item(TableName=f"{PREFIX}-journal", Item={
        "id": {"S": "forged:1"}, "kind": {"S": "settle"}, "ref": {"S": "x"}, "time_us": {"N": "1"},
        "postings": {"L": [{"M": {"address": {"S": "mallory"}, "asset": {"S": asset}, "available": {"N": "7"},
                                  "locked": {"N": "0"}}}]}})
    assert run_audit(endpoint).exit_code == 1 | 2 | 4 | 8  # ... and an entry that creates value (4)


def test_an_unreachable_database_exits_255():
    result = CliRunner().invoke(app, ["audit", "--endpoint", "http://127.0.0.1:9", "--prefix", "nothing"])
    assert result.exit_code == 255 and "cannot read the ledger" in result.stderr
    configure(endpoint=None, prefix="test")
