"""Hypothesis: random credits, locks, unlocks and debits through the ledger's one write
path never leave a balance negative, and the journal always replays to the balances."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.errors import InsufficientFunds
from chalicelib.ledger import store
from chalicelib.ledger.audit import check
from chalicelib.ledger.models import Balance
from tests import support

ADDRESSES = ["a", "b", "c"]
ASSETS = ["X", "Y"]

operation = st.tuples(
    st.sampled_from(["credit", "lock", "unlock", "debit", "transfer"]),
    st.sampled_from(ADDRESSES), st.sampled_from(ADDRESSES), st.sampled_from(ASSETS),
    st.integers(min_value=1, max_value=10**6),
)


def apply(number, kind, who, other, asset, amount, clock):
    tx = store.Tx()
    if kind == "credit":
        tx.move(who, asset, available=amount)
        journal_kind = "deposit"
    elif kind == "lock":
        tx.move(who, asset, available=-amount, locked=amount)
        journal_kind = "place"
    elif kind == "unlock":
        tx.move(who, asset, available=amount, locked=-amount)
        journal_kind = "cancel"
    elif kind == "debit":
        tx.move(who, asset, available=-amount)
        journal_kind = "withdraw"
    else:
        tx.move(who, asset, locked=-amount)
        tx.move(other, asset, available=amount)
        journal_kind = "settle"
    tx.commit(f"op:{number}", journal_kind, str(number), clock.now_us())


def model_allows(model, kind, who, other, asset, amount):
    available, locked = model.get((who, asset), (0, 0))
    return {"credit": True, "lock": available >= amount, "unlock": locked >= amount,
            "debit": available >= amount, "transfer": locked >= amount}[kind]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operation, min_size=1, max_size=25))
def test_random_operations_keep_balances_non_negative_and_audited(operations):
    clock = support.make_clock()
    with support.moto_ledger(clock), support.no_scans():
        model: dict[tuple[str, str], tuple[int, int]] = {}
        for number, (kind, who, other, asset, amount) in enumerate(operations):
            allowed = model_allows(model, kind, who, other, asset, amount)
            try:
                apply(number, kind, who, other, asset, amount, clock)
            except InsufficientFunds:
                assert not allowed
                continue
            assert allowed, (kind, who, asset, amount, model)
            available, locked = model.get((who, asset), (0, 0))
            if kind == "credit":
                model[(who, asset)] = (available + amount, locked)
            elif kind == "lock":
                model[(who, asset)] = (available - amount, locked + amount)
            elif kind == "unlock":
                model[(who, asset)] = (available + amount, locked - amount)
            elif kind == "debit":
                model[(who, asset)] = (available - amount, locked)
            else:
                model[(who, asset)] = (available, locked - amount)
                other_available, other_locked = model.get((other, asset), (0, 0))
                model[(other, asset)] = (other_available + amount, other_locked)
        for (who, asset), (available, locked) in model.items():
            stored = Balance.get(who, asset, consistent_read=True)
            assert (stored.available, stored.locked) == (available, locked)
            assert available >= 0 and locked >= 0
        support.audit_ok()


def test_a_replayed_operation_is_recognised_not_applied_twice(ledger):
    apply(1, "credit", "a", "a", "X", 5, ledger)
    with pytest.raises(store.AlreadyApplied):
        apply(1, "credit", "a", "a", "X", 5, ledger)
    assert Balance.get("a", "X").available == 5
    support.audit_ok()


def test_the_scan_guard_trips_on_a_request_path(ledger):
    with pytest.raises(support.ScanOnRequestPath):
        list(Balance.scan())


def test_audit_finds_every_kind_of_inconsistency():
    entries = [
        {"id": "1", "kind": "deposit", "postings": [{"address": "a", "asset": "X", "available": 10, "locked": 0}]},
        {"id": "2", "kind": "settle", "postings": [{"address": "a", "asset": "X", "available": -3, "locked": 0},
                                                   {"address": "b", "asset": "X", "available": 4, "locked": 0}]},
    ]
    report = check(entries, [{"address": "a", "asset": "X", "available": 7, "locked": 0},
                             {"address": "b", "asset": "X", "available": 4, "locked": 0},
                             {"address": "c", "asset": "X", "available": -2, "locked": 0}])
    assert not report.ok
    assert report.unbalanced and report.negatives and report.mismatches and report.conservation
    good = check(entries[:1], [{"address": "a", "asset": "X", "available": 10, "locked": 0}])
    assert good.ok, good.summary()
