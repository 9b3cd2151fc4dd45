"""Operator tooling: audit the whole ledger (`make audit`, the tests, the load script).

It Scans the journal and the balances (consistently), which is why it lives here and
never on a request path; the comparison itself is `chalicelib.ledger.audit.check`.
"""

from __future__ import annotations

from chalicelib.ledger.audit import AuditReport, check


def audit() -> AuditReport:
    from chalicelib.ledger.models import Balance, JournalEntry

    entries = (
        {"id": e.id, "kind": e.kind, "postings": [p.as_dict() for p in e.postings]}
        for e in JournalEntry.scan(consistent_read=True)
    )
    balances = ({"address": b.address, "asset": b.asset, "available": b.available, "locked": b.locked}
                for b in Balance.scan(consistent_read=True))
    return check(list(entries), balances)


if __name__ == "__main__":
    import sys

    result = audit()
    print(result.summary())
    sys.exit(0 if result.ok else 1)
