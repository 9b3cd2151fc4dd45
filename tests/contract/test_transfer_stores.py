"""The withdrawals, conversions and outbox stores' contract (DynamoDB and in-memory): the
scheduler's pending queues, conditional status changes staged with their journal entry,
and the admin lists' newest-first pages with cursors."""

from __future__ import annotations

import pytest

from chalicelib.errors import InvalidInput
from chalicelib.ledger import store
from chalicelib.ledger.stores.conversions import Conversion
from chalicelib.ledger.stores.outbox import Transfer
from chalicelib.ledger.stores.withdrawals import Withdrawal


def withdrawal(number: int, account: str = "alice", **fields) -> Withdrawal:
    values = dict(account=account, coin="LTC", address="Lx", quantity=10 + number, created_us=100 * number,
                  updated_us=100 * number, status="pending", pending_status="pending", due_us=100 * number)
    values.update(fields)
    return Withdrawal(f"w{number:02d}", **values)


def conversion(number: int, **fields) -> Conversion:
    values = dict(deposit_id=number, from_coin="SGTK", to_coin="LTC", to_address=f"L{number % 2}", from_amount=50,
                  to_amount=40, created_us=100 * number, updated_us=100 * number, status="queued",
                  pending_status="queued", due_us=100 * number)
    values.update(fields)
    return Conversion(f"SGTK#t{number}#0", number, **values)


def all_pages(read, limit: int) -> list:
    rows, cursor, pages = [], None, 0
    while True:
        page = read(limit, cursor)
        rows += page.rows
        pages += 1
        assert len(page.rows) <= limit and pages < 50
        if page.cursor is None:
            return rows
        cursor = page.cursor


def test_a_withdrawal_is_created_with_its_lock_and_moves_by_conditional_changes(backend):
    tx = backend.new_tx()
    tx.move("alice", "LTC", available=100)
    tx.commit("deposit:1", "deposit", "1", 1)
    w = withdrawal(1)
    tx = backend.new_tx()
    backend.withdrawals.stage_create(tx, w)
    tx.move("alice", "LTC", available=-w.quantity, locked=w.quantity)
    tx.commit(f"withdraw_lock:{w.id}", "withdraw_lock", w.id, 2)
    assert backend.withdrawals.get(w.id) == w
    twice = backend.new_tx()  # the same id again: refused, and its lock with it
    backend.withdrawals.stage_create(twice, w)
    twice.move("alice", "LTC", available=-1, locked=1)
    with pytest.raises(store.StaleRead):
        twice.commit("withdraw_lock:other", "withdraw_lock", w.id, 3)
    assert backend.balances.get("alice", "LTC", consistent=True).locked == w.quantity
    assert [x.id for x in backend.withdrawals.due("pending", 10_000, limit=10)] == [w.id]
    assert backend.withdrawals.change(w.id, "signed", {"status": "sent"}) is False
    tx = backend.new_tx()
    backend.withdrawals.stage_change(tx, w.id, "pending", {"status": "signed", "pending_status": "signed"})
    tx.move("alice", "LTC", locked=-w.quantity)
    tx.commit(f"withdraw:{w.id}", "withdraw", w.id, 4)
    assert backend.withdrawals.due("pending", 10_000, limit=10) == []
    assert [x.id for x in backend.withdrawals.due("signed", 10_000, limit=10)] == [w.id]
    assert backend.withdrawals.defer(w.id, 1, 20_000)
    assert backend.withdrawals.due("signed", 19_999, limit=10) == []  # deferred: not read before it is due
    assert [(x.id, x.attempts) for x in backend.withdrawals.due("signed", 20_000, limit=10)] == [(w.id, 1)]
    assert backend.withdrawals.change(w.id, "signed", {"status": "sent", "txid": "T", "pending_status": None})
    assert backend.withdrawals.due("signed", 20_000, limit=10) == []
    assert backend.withdrawals.defer(w.id, 2, 30_000) is False  # sent: never queued again
    assert (backend.withdrawals.get(w.id).status, backend.withdrawals.get(w.id).txid) == ("sent", "T")
    assert backend.withdrawals.get("nope") is None


def test_withdrawal_lists_are_newest_first_and_page_with_a_cursor(backend):
    for number in range(1, 8):
        tx = backend.new_tx()
        backend.withdrawals.stage_create(tx, withdrawal(number, account="alice" if number % 2 else "bob"))
        tx.commit(f"w:{number}", "withdraw_lock", str(number), number)
    assert [w.id for w in backend.withdrawals.of_account("alice", limit=3)] == ["w07", "w05", "w03"]
    everyone = all_pages(lambda limit, cursor: backend.withdrawals.page(None, limit, cursor, lambda _w: True), 3)
    assert [w.id for w in everyone] == [f"w{n:02d}" for n in range(7, 0, -1)]
    bobs = all_pages(lambda limit, cursor: backend.withdrawals.page("bob", limit, cursor, lambda _w: True), 2)
    assert [w.id for w in bobs] == ["w06", "w04", "w02"]
    big = all_pages(lambda limit, cursor: backend.withdrawals.page(None, limit, cursor, lambda w: w.quantity > 13), 2)
    assert [w.id for w in big] == ["w07", "w06", "w05", "w04"]
    first = backend.withdrawals.page("bob", 1, None, lambda _w: True)
    with pytest.raises(InvalidInput):  # a cursor of another account's list
        backend.withdrawals.page("alice", 1, first.cursor, lambda _w: True)
    with pytest.raises(InvalidInput):
        backend.withdrawals.page(None, 1, "bm90IGEgY3Vyc29y", lambda _w: True)


def test_a_conversion_is_put_once_and_sent_with_its_deposit(backend):
    c = conversion(1)
    tx = backend.new_tx()
    backend.conversions.stage_create(tx, c)
    tx.commit("conversion_in:1", "conversion_in", c.deposit_key, 1)
    assert backend.conversions.get(c.deposit_key) == c
    twice = backend.new_tx()
    backend.conversions.stage_create(twice, conversion(1, to_amount=1))
    with pytest.raises(store.StaleRead):
        twice.commit("conversion_in:again", "conversion_in", c.deposit_key, 2)
    assert [x.id for x in backend.conversions.due("queued", 100, limit=5)] == [1]
    assert backend.conversions.due("queued", 99, limit=5) == []  # due from its creation on
    tx = backend.new_tx()
    backend.conversions.stage_change(tx, c.deposit_key, "queued", {"status": "sending", "pending_status": "sending",
                                                                   "error": None})
    tx.commit("conversion_out:1", "conversion_out", c.deposit_key, 3)
    late = backend.new_tx()  # a pass that read it queued: nothing of its commit applies
    backend.conversions.stage_change(late, c.deposit_key, "queued", {"status": "sending"})
    late.move("x", "LTC", available=1)
    with pytest.raises(store.StaleRead):
        late.commit("conversion_out:late", "conversion_out", c.deposit_key, 4)
    assert backend.balances.get("x", "LTC") is None
    assert [x.id for x in backend.conversions.due("sending", 100, limit=5)] == [1]
    assert backend.conversions.defer(c.deposit_key, 1, 700)
    assert backend.conversions.due("sending", 699, limit=5) == []
    assert backend.conversions.get(c.deposit_key).attempts == 1
    assert backend.conversions.by_id(1).status == "sending"
    assert backend.conversions.by_id(2) is None


def test_conversion_lists_by_id_and_by_filter(backend):
    for number in range(1, 6):
        tx = backend.new_tx()
        backend.conversions.stage_create(tx, conversion(number))
        tx.commit(f"c:{number}", "conversion_in", str(number), number)
    assert [c.id for c in backend.conversions.listing(None, "", limit=10)] == [1, 2, 3, 4, 5]
    assert [c.id for c in backend.conversions.listing("to_address", "L1", limit=2)] == [1, 3]
    newest = all_pages(lambda limit, cursor: backend.conversions.page(None, "", limit, cursor, lambda _c: True), 2)
    assert [c.id for c in newest] == [5, 4, 3, 2, 1]
    to_l0 = all_pages(lambda limit, cursor: backend.conversions.page("to_address", "L0", limit, cursor,
                                                                     lambda _c: True), 1)
    assert [c.id for c in to_l0] == [4, 2]


def test_the_outbox_records_a_transfer_once_and_lists_newest_first(backend):
    for number in range(1, 5):
        assert backend.outbox.create(Transfer(f"withdrawal:{number}", "LTC", "Lx", number, f"tx{number}", 10 * number))
    assert backend.outbox.create(Transfer("withdrawal:1", "LTC", "Ly", 99, "other", 99)) is False
    assert backend.outbox.get("withdrawal:1") == Transfer("withdrawal:1", "LTC", "Lx", 1, "tx1", 10)
    assert backend.outbox.get("withdrawal:9") is None
    listed = all_pages(lambda limit, cursor: backend.outbox.page(limit, cursor, lambda t: t.quantity != 2), 2)
    assert [t.id for t in listed] == ["withdrawal:4", "withdrawal:3", "withdrawal:1"]
