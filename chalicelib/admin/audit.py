"""Operator tooling: audit the whole ledger (`lambdex audit`, `make audit`, the tests, the load script).

It Scans the journal and the balances (consistently), which is why it lives here and
never on a request path; the comparison itself is `chalicelib.ledger.audit.check`.
Both Scans stream page by page into the check, so memory follows the number of
balances (what the replay keeps), not the length of the journal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from chalicelib.ledger.audit import AuditReport, check

PAGE_SIZE = 1000

Progress = Callable[[str, int], None]  # (table: "journal" | "balances", items read since the last call)


def audit(progress: Progress | None = None, page_size: int = PAGE_SIZE) -> AuditReport:
    """Replay the whole journal against every balance. `progress(table, n)` is called after
    each page of `n` items."""
    from chalicelib.ledger.models import Balance, JournalEntry

    entries = (_entry(item) for item in _scan(JournalEntry.Meta.table_name, "journal", progress, page_size))
    balances = (_balance(item) for item in _scan(Balance.Meta.table_name, "balances", progress, page_size))
    return check(entries, balances)


def _scan(table: str, name: str, progress: Progress | None, page_size: int) -> Iterator[dict]:
    """Every item, one consistent Scan page at a time (raw attribute values: parsing them
    through the models would cost several times the Scan itself)."""
    from chalicelib.ledger import db

    pages = db.client().get_paginator("scan").paginate(TableName=table, ConsistentRead=True,
                                                        PaginationConfig={"PageSize": page_size})
    for page in pages:
        yield from page["Items"]
        if progress is not None:
            progress(name, len(page["Items"]))


def _number(item: dict, name: str) -> int:
    return int(item[name]["N"]) if name in item else 0


def _entry(item: dict) -> dict:
    postings = [posting["M"] for posting in item.get("postings", {}).get("L", [])]
    return {"id": item["id"]["S"], "kind": item["kind"]["S"], "postings": [
        {"address": p["address"]["S"], "asset": p["asset"]["S"], "available": _number(p, "available"),
         "locked": _number(p, "locked")} for p in postings]}


def _balance(item: dict) -> dict:
    return {"address": item["address"]["S"], "asset": item["asset"]["S"], "available": _number(item, "available"),
            "locked": _number(item, "locked")}


def table_sizes() -> dict[str, int]:
    """DynamoDB's item counts of the two tables (approximate on AWS: updated about every
    six hours), for a progress bar's total."""
    from chalicelib.ledger import db
    from chalicelib.ledger.models import Balance, JournalEntry

    client = db.client()
    return {name: client.describe_table(TableName=model.Meta.table_name)["Table"].get("ItemCount", 0)
            for name, model in (("journal", JournalEntry), ("balances", Balance))}


def exit_status(report: AuditReport) -> int:
    """0 when the ledger is consistent, else one bit per kind of finding (see `main`)."""
    status = 0
    for bit, kind in enumerate(finding_kinds(report)):
        if getattr(report, kind):
            status |= 1 << bit
    return status


def finding_kinds(report: AuditReport) -> list[str]:
    """The report's lists of findings, in their declared order (mismatches, negatives, ...)."""
    from dataclasses import fields

    return [f.name for f in fields(report) if isinstance(getattr(report, f.name), list)]


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os

    kinds = finding_kinds(AuditReport())
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.admin.audit",
        description="Replay the journal against the balances (the ledger audit). Exit status 0: consistent; "
                    "else the sum of " + ", ".join(f"{1 << i} ({k})" for i, k in enumerate(kinds)) + ".")
    parser.add_argument("--endpoint", default=os.environ.get("LAMBDEX_DYNAMODB_ENDPOINT", "http://127.0.0.1:8010"),
                        help="DynamoDB endpoint ('' for AWS); default $LAMBDEX_DYNAMODB_ENDPOINT or the local one")
    parser.add_argument("--prefix", default=os.environ.get("LAMBDEX_TABLE_PREFIX", "lambdex-local"),
                        help="table prefix; default $LAMBDEX_TABLE_PREFIX or lambdex-local")
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE, help="items per Scan page")
    args = parser.parse_args(argv)
    use_tables(args.endpoint or None, args.prefix)
    result = audit(page_size=args.page_size)
    print(result.summary())
    return exit_status(result)


def use_tables(endpoint: str | None, prefix: str) -> None:
    """Point the models at a stage's tables; a local endpoint gets local credentials if none are set."""
    import os

    if endpoint:
        for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"),
                            ("AWS_DEFAULT_REGION", "us-east-1")):
            os.environ.setdefault(name, value)
    from chalicelib.ledger import cache
    from chalicelib.ledger.models import configure

    configure(endpoint=endpoint, prefix=prefix)
    cache.clear()


if __name__ == "__main__":
    import sys

    sys.exit(main())
