"""Operator tooling: audit the whole ledger (`lambdex audit`, `make audit`, the tests, the load
and soak scripts).

It Scans the journal, the balances, the orders, the matches and the markets (consistently),
which is why it lives here and never on a request path; the checks themselves are
`chalicelib.ledger.audit.check` (pure). Run it when the system is quiet: a book that is
being settled while it is read may look crossed for a moment.

    audit()                                   # -> AuditReport (.ok, .findings, .summary())
    audit(progress=lambda table, n: ...)      # n = items of that table read so far, after each page

The journal and the balances stream page by page into the check (raw Scan pages: parsing
them through the models cost ~5x the Scans), so memory follows the number of balances, not
the journal's length; the orders, matches and markets are held as the book checks need them.

`python -m chalicelib.admin.audit` prints the summary, one finding a line, and exits with one
bit per kind of finding (see `exit_status`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from chalicelib import settings
from chalicelib.ledger.audit import AuditReport, check

SCAN_PAGE = 1000
TABLES = ("journal", "balances", "orders", "matches", "markets")
UNREADABLE = 255  # the exit status when the ledger could not be read at all

Progress = Callable[[str, int], None]

ORDER_FIELDS = ("market", "tx_hash", "tx_index", "source", "give_asset", "give_quantity", "give_remaining",
                "get_asset", "get_quantity", "get_remaining", "status", "expires_at", "taker", "expired_with", "cap")
MATCH_FIELDS = ("id", "market", "tx0_hash", "tx1_hash", "forward_quantity", "backward_quantity", "status")


def _counted(table: str, items: Iterable, progress: Progress | None, every: int = SCAN_PAGE) -> Iterator:
    count = 0
    for count, item in enumerate(items, 1):
        if progress and count % every == 0:
            progress(table, count)
        yield item
    if progress:
        progress(table, count)


def _fields(item, names: tuple[str, ...]) -> dict:
    return {name: getattr(item, name, None) for name in names}


def audit(progress: Progress | None = None, now: float | None = None,
          max_failing_passes: int | None = None, page_size: int = SCAN_PAGE) -> AuditReport:
    """The whole ledger's audit. `progress(table, items read so far)`; `now` (unix seconds,
    default the clock's) decides which open orders have expired."""
    from chalicelib.ledger import clock as clock_module
    from chalicelib.ledger import stores
    from chalicelib.ledger.models import Balance, JournalEntry, Market

    orders = [_fields(o, ORDER_FIELDS) for o in _counted("orders", stores.orders().every(page_size), progress,
                                                          page_size)]
    matches = [_fields(m, MATCH_FIELDS) for m in _counted("matches", stores.matches().every(page_size), progress,
                                                           page_size)]
    markets = [{"id": m.id, "failing_passes": m.failing_passes, "last_failure": m.last_failure}
               for m in _counted("markets", Market.scan(consistent_read=True, page_size=page_size), progress,
                                 page_size)]
    entries = (_entry(i) for i in _counted("journal", _scan(JournalEntry.Meta.table_name, page_size), progress,
                                           page_size))
    balances = (_balance(i) for i in _counted("balances", _scan(Balance.Meta.table_name, page_size), progress,
                                              page_size))
    if max_failing_passes is None:
        max_failing_passes = int(settings.get("LAMBDEX_AUDIT_MAX_FAILING_PASSES"))
    return check(entries, balances, orders=orders, matches=matches, markets=markets,
                 now=clock_module.current().now() if now is None else now, max_failing_passes=max_failing_passes)


def _scan(table: str, page_size: int) -> Iterator[dict]:
    """Every item (raw attribute values), one consistent Scan page at a time."""
    from chalicelib.ledger import db

    pages = db.client().get_paginator("scan").paginate(TableName=table, ConsistentRead=True,
                                                        PaginationConfig={"PageSize": page_size})
    for page in pages:
        yield from page["Items"]


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
    """DynamoDB's item counts of the audited tables (approximate on AWS: updated about every
    six hours), for a progress bar's total."""
    from chalicelib.ledger import db
    from chalicelib.ledger.models import Balance, JournalEntry, Market
    from chalicelib.ledger.stores.matches import table_name as matches_table
    from chalicelib.ledger.stores.orders import table_name as orders_table

    client = db.client()
    names = (JournalEntry.Meta.table_name, Balance.Meta.table_name, orders_table(), matches_table(),
             Market.Meta.table_name)
    return {name: client.describe_table(TableName=table)["Table"].get("ItemCount", 0)
            for name, table in zip(TABLES, names, strict=True)}


def finding_kinds(report: AuditReport) -> list[str]:
    """The report's lists of findings, in their declared order (mismatches, negatives, ...)."""
    from dataclasses import fields

    return [f.name for f in fields(report) if isinstance(getattr(report, f.name), list)]


def exit_status(report: AuditReport) -> int:
    """0 when the ledger is consistent, else one bit per kind of finding, in `finding_kinds`
    order: 1 mismatches, 2 negatives, 4 unbalanced, 8 conservation, 16 crossed, 32 fills,
    64 failing."""
    status = 0
    for bit, kind in enumerate(finding_kinds(report)):
        if getattr(report, kind):
            status |= 1 << bit
    return status


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


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os

    kinds = finding_kinds(AuditReport())
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.admin.audit",
        description="Audit the ledger: replay the journal against the balances, check the books. Exit status 0: "
                    "consistent; else the sum of " + ", ".join(f"{1 << i} ({k})" for i, k in enumerate(kinds))
                    + f"; {UNREADABLE} when the tables cannot be read. `lambdex audit` is the same with a "
                      "progress bar.")
    parser.add_argument("--endpoint", default=os.environ.get("LAMBDEX_DYNAMODB_ENDPOINT", "http://127.0.0.1:8010"),
                        help="DynamoDB endpoint ('' for AWS); default $LAMBDEX_DYNAMODB_ENDPOINT or the local one")
    parser.add_argument("--prefix", default=os.environ.get("LAMBDEX_TABLE_PREFIX", "lambdex-local"),
                        help="table prefix; default $LAMBDEX_TABLE_PREFIX or lambdex-local")
    parser.add_argument("--page-size", type=int, default=SCAN_PAGE, help="items per Scan page")
    args = parser.parse_args(argv)
    use_tables(args.endpoint or None, args.prefix)
    result = audit(page_size=args.page_size)
    print(result.summary())
    return exit_status(result)


if __name__ == "__main__":
    import sys

    sys.exit(main())
