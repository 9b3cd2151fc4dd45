"""The journal store contract (DynamoDB and in-memory): an operator's changes, newest
first, paged with a cursor; entries without an operator are not listed."""

from __future__ import annotations

import pytest

from chalicelib.errors import InvalidInput
from chalicelib.ledger.actions import Action


def test_an_operators_changes_newest_first_in_pages(backend):
    for number in range(1, 6):
        tx = backend.new_tx()
        tx.move("alice", "ZRX", available=number)
        operator = "ops" if number != 3 else "other"
        tx.commit(f"admin:{number}", "adjust", f"ref{number}", 100 * number, action=Action(operator, f"why {number}"))
    tx = backend.new_tx()
    tx.move("alice", "ZRX", available=9)
    tx.commit("deposit:x", "deposit", "x", 999)  # no operator: not an action
    first = backend.journal.by_operator("ops", 2, None)
    assert [(e.id, e.reason, e.time_us) for e in first.rows] == [("admin:5", "why 5", 500), ("admin:4", "why 4", 400)]
    rest, cursor = [], first.cursor
    while cursor:
        page = backend.journal.by_operator("ops", 2, cursor)
        rest += page.rows
        cursor = page.cursor
    assert [e.id for e in rest] == ["admin:2", "admin:1"]
    assert [e.operator for e in backend.journal.by_operator("other", 5, None).rows] == ["other"]
    assert backend.journal.by_operator("nobody", 5, None).rows == []
    with pytest.raises(InvalidInput):
        backend.journal.by_operator("other", 5, first.cursor)
