"""`lambdex audit` at scale: a ledger of N journal entries (default 10,000) on a fresh
DynamoDB Local, written with BatchWriteItem, then audited page by page.

    python bench/audit_scale.py [--entries 10000] [--page-size 1000]

Prints how long building and auditing took, the audit's peak Python memory (tracemalloc)
and, side by side, the floor: the same two Scans with boto3 alone (no parsing, no replay),
with the ratio (best of two interleaved runs each). Then runs `lambdex audit` itself once
(its progress bar on stderr) and prints its exit status. Asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import environment, support  # noqa: E402, F401  (environment first: the models read it)


def scan_floor(client, table: str, page_size: int) -> int:
    items = 0
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True,
                                                      PaginationConfig={"PageSize": page_size}):
        items += page["Count"]
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    if support.NO_DYNAMODB_LOCAL:
        print(f"skipped: {support.NO_DYNAMODB_LOCAL}")
        return 0
    import boto3

    from chalicelib.admin import audit as ledger_audit
    from chalicelib.local.dynamodb_local import LocalDatabase
    from chalicelib.local.tables import ensure_tables
    from tests import ledger_builder

    prefix = "auditbench"
    # In memory: on a shared disk DynamoDB Local writes ~50 items/s (measured), in memory ~500.
    local = LocalDatabase(Path(tempfile.mkdtemp()) / "ddb", support.free_port(), jar=support.JAR,
                          allow_fallback=False, in_memory=True)
    with local as database:
        endpoint = database.endpoint_url
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        ensure_tables(client, prefix=prefix)
        started = time.perf_counter()
        balances = ledger_builder.build(client, prefix, args.entries)
        built = time.perf_counter() - started
        print(f"built {args.entries} journal entries and {len(balances)} balances in {built:.1f} s "
              f"({args.entries / built:.0f} entries/s, BatchWriteItem)")

        ledger_audit.use_tables(endpoint, prefix)
        ledger_audit.table_sizes()  # warm the client, as the floor's is
        floor, audited = float("inf"), float("inf")
        for _ in range(2):  # interleaved, best of two each: the machine's load moves both alike
            started = time.perf_counter()
            floor_items = scan_floor(client, f"{prefix}-journal", args.page_size) + scan_floor(
                client, f"{prefix}-balances", args.page_size)
            floor = min(floor, time.perf_counter() - started)
            started = time.perf_counter()
            report = ledger_audit.audit(page_size=args.page_size)
            audited = min(audited, time.perf_counter() - started)
        tracemalloc.start()  # a second run for the memory figure (tracing slows Python down)
        ledger_audit.audit(page_size=args.page_size)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(report.summary().splitlines()[0])
        print(f"audit: {audited:.2f} s, peak Python memory {peak / 2**20:.1f} MiB | floor (boto3 Scans of the "
              f"same {floor_items} items, no replay): {floor:.2f} s | ratio {audited / floor:.2f}x")

        lambdex = Path(sys.executable).parent / "lambdex"
        command = [str(lambdex)] if lambdex.exists() else [sys.executable, "-m", "lambdex_cli"]
        started = time.perf_counter()
        status = subprocess.call([*command, "audit", "--endpoint", endpoint, "--prefix", prefix,
                                  "--page-size", str(args.page_size)], cwd=ROOT)
        print(f"lambdex audit: exit status {status}, {time.perf_counter() - started:.1f} s including start-up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
