"""Operator tooling: audit the whole ledger (`make audit`, the tests, the load and soak scripts).

It Scans the journal, the balances, the orders, the matches and the markets (consistently),
which is why it lives here and never on a request path; the checks themselves are
`chalicelib.ledger.audit.check` (pure). Run it when the system is quiet: a book that is
being settled while it is read may look crossed for a moment.

    audit()                                   # -> AuditReport (.ok, .findings, .summary())
    audit(progress=lambda table, n: ...)      # called every SCAN_PAGE items and at each table's end

`python -m chalicelib.admin.audit` prints the summary, one finding a line, and exits 1 on
any finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from chalicelib import settings
from chalicelib.ledger.audit import AuditReport, check

SCAN_PAGE = 1000

ORDER_FIELDS = ("market", "tx_hash", "tx_index", "source", "give_asset", "give_quantity", "give_remaining",
                "get_asset", "get_quantity", "get_remaining", "status", "expires_at", "taker", "expired_with", "cap")
MATCH_FIELDS = ("id", "market", "tx0_hash", "tx1_hash", "forward_quantity", "backward_quantity", "status")


def _counted(table: str, items: Iterable, progress: Callable[[str, int], None] | None) -> Iterator:
    count = 0
    for count, item in enumerate(items, 1):
        if progress and count % SCAN_PAGE == 0:
            progress(table, count)
        yield item
    if progress:
        progress(table, count)


def _fields(item, names: tuple[str, ...]) -> dict:
    return {name: getattr(item, name, None) for name in names}


def audit(progress: Callable[[str, int], None] | None = None, now: float | None = None,
          max_failing_passes: int | None = None) -> AuditReport:
    """The whole ledger's audit. `progress(table, items read so far)`; `now` (unix seconds,
    default the clock's) decides which open orders have expired."""
    from chalicelib.ledger import clock as clock_module
    from chalicelib.ledger.models import Balance, JournalEntry, Market, Order, OrderMatch

    entries = [{"id": e.id, "kind": e.kind, "postings": [p.as_dict() for p in e.postings]}
               for e in _counted("journal", JournalEntry.scan(consistent_read=True), progress)]
    balances = [{"address": b.address, "asset": b.asset, "available": b.available, "locked": b.locked}
                for b in _counted("balances", Balance.scan(consistent_read=True), progress)]
    orders = [_fields(o, ORDER_FIELDS) for o in _counted("orders", Order.scan(consistent_read=True), progress)]
    matches = [_fields(m, MATCH_FIELDS)
               for m in _counted("matches", OrderMatch.scan(consistent_read=True), progress)]
    markets = [{"id": m.id, "failing_passes": m.failing_passes, "last_failure": m.last_failure}
               for m in _counted("markets", Market.scan(consistent_read=True), progress)]
    if max_failing_passes is None:
        max_failing_passes = int(settings.get("LAMBDEX_AUDIT_MAX_FAILING_PASSES"))
    return check(entries, balances, orders=orders, matches=matches, markets=markets,
                 now=clock_module.current().now() if now is None else now, max_failing_passes=max_failing_passes)


if __name__ == "__main__":
    import sys

    result = audit()
    print(result.summary())
    sys.exit(0 if result.ok else 1)
