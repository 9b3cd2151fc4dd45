"""The orders store: DynamoDB (moto, or DynamoDB Local with LAMBDEX_TEST_BACKEND=ddblocal)
and in memory pass the same tests: the book's side order, key ranges, paging, restricted key
space and projected entries; whole orders by key, hash and every index; the conditional
writes of placement, change and fill; resumable admin pages."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from chalicelib.errors import InvalidInput
from chalicelib.ledger import store
from chalicelib.ledger.matching import BookOrder, match_orders
from chalicelib.ledger.stores.orders import BookEntry, Order, as_entry, book_key, closed, price_bound, reopened
from tests import support

MARKET = "ZRX-WETH"
EXPIRES = 2_000_000_000


def entry(n: int, side: str, give: int, get: int, *, taker: str | None = None, market: str = MARKET,
          expired_with: frozenset[str] = frozenset(), cap: str = "give", source: str | None = None) -> BookEntry:
    tx_hash = f"{n:064x}"
    give_asset, get_asset = ("ZRX", "WETH") if side == "sell" else ("WETH", "ZRX")
    return BookEntry(tx_hash=tx_hash, tx_index=1_000 + n, source=source or f"acct{n % 3}", give_asset=give_asset,
                     give_quantity=give, give_remaining=give, get_asset=get_asset, get_quantity=get,
                     get_remaining=get, taker=taker, cap=cap, market=market, side=side, expires_at=EXPIRES,
                     book_key=book_key(side, give, get, 1_000 + n, tx_hash, taker), expired_with=expired_with,
                     block_index=7, expiration=100)


def order(n: int, side: str = "sell", give: int = 10, get: int = 5, *, status: str = "open", **fields) -> Order:
    base = entry(n, side, give, get, taker=fields.pop("taker", None), market=fields.pop("market", MARKET),
                 source=fields.pop("source", None))
    placed = Order(**{name: getattr(base, name) for name in ("tx_hash", "tx_index", "source", "give_asset",
                                                             "give_quantity", "give_remaining", "get_asset",
                                                             "get_quantity", "get_remaining", "taker", "cap",
                                                             "market", "side", "expires_at", "book_key",
                                                             "block_index", "expiration")},
                   expire_index=107, fee_required=1, fee_required_remaining=1, open_expires_at=EXPIRES,
                   dialect="0x", signed_order={"maker": "0xm", "salt": "1"}, created_us=5, updated_us=5)
    placed = replace(placed, **fields)
    return closed(placed, status, placed.updated_us) if status != "open" else placed


def place(backend, *orders: Order) -> None:
    for o in orders:
        tx = backend.new_tx()
        backend.orders.stage_place(tx, o)
        tx.commit(f"place:{o.tx_hash}", "place", o.tx_hash, 5)


def change(backend, before: Order, after: Order, entry_id: str = "change") -> None:
    tx = backend.new_tx()
    backend.orders.stage_change(tx, before, after)
    tx.commit(entry_id, "cancel", before.tx_hash, 6)


# -- the book, projected ----------------------------------------------------------------------

def test_sides_read_best_first_with_every_field(backend):
    book = backend.orders
    asks = [entry(1, "sell", 10, 6), entry(2, "sell", 10, 5), entry(3, "sell", 10, 5, cap="get")]
    bids = [entry(4, "buy", 6, 10, expired_with=frozenset({"ab" * 32})), entry(5, "buy", 7, 10)]
    book.add(asks + bids + [entry(6, "sell", 1, 1, market="OTHER-X")])
    page = book.side(MARKET, "S", limit=10)
    assert [e.tx_hash for e in page.entries] == [asks[1].tx_hash, asks[2].tx_hash, asks[0].tx_hash]
    assert page.entries[1] == asks[2]  # every projected field comes back as written
    assert not page.more
    assert book.side(MARKET, "B", limit=10).entries == [bids[1], bids[0]]  # 0.7 WETH per ZRX bids best


def test_entries_are_what_the_matcher_takes(backend):
    backend.orders.add([entry(1, "sell", 10, 5), entry(2, "buy", 6, 10)])
    read = backend.orders.whole_book(MARKET, limit=10).entries
    assert all(isinstance(e, BookOrder) for e in read)
    result = match_orders(read)
    assert [(f.tx0_hash, f.tx1_hash) for f in result.fills] == [(f"{1:064x}", f"{2:064x}")]


def test_limit_paging_and_price_bounds(backend):
    book = backend.orders
    asks = [entry(i, "sell", 10, 10 + i) for i in range(10)]  # asks 1.0, 1.1, ... 1.9
    book.add(asks)
    first = book.side(MARKET, "S", limit=4)
    assert first.entries == asks[:4] and first.more
    rest = book.side(MARKET, "S", limit=4, after=first.entries[-1].book_key)
    assert rest.entries == asks[4:8]
    bound = price_bound("S", Fraction(13, 10))  # every ask at most 1.3
    upto = book.side(MARKET, "S", limit=100, upper=bound)
    assert upto.entries == asks[:4] and not upto.more
    assert book.side(MARKET, "S", limit=100, upper=bound, after=asks[1].book_key).entries == asks[2:4]


def test_restricted_orders_are_off_the_public_sides(backend):
    book = backend.orders
    public = entry(1, "sell", 10, 5)
    hidden = [entry(2, "sell", 10, 1, taker="0xtaker"), entry(3, "buy", 10, 1, taker="0xtaker"),
              entry(4, "sell", 10, 1, taker="0xother")]
    book.add([public, *hidden])
    assert book.side(MARKET, "S", limit=10).entries == [public]
    assert book.side(MARKET, "B", limit=10).entries == []
    assert book.restricted_to(MARKET, "0xtaker", limit=10).entries == [hidden[1], hidden[0]]  # buys first
    assert {e.taker for e in book.restricted_from(MARKET, "", limit=10).entries} == {"0xtaker", "0xother"}
    assert [e.taker for e in book.restricted_from(MARKET, "0xt", limit=10).entries] == ["0xtaker", "0xtaker"]
    whole = book.whole_book(MARKET, limit=10)
    assert {e.tx_hash for e in whole.entries} == {e.tx_hash for e in [public, *hidden]} and not whole.more


def test_own_side_is_one_owners_public_orders_up_to_a_bound(backend):
    book = backend.orders
    mine = [entry(i, "sell", 10, 10 + i, source="me") for i in range(4)]
    book.add([*mine, entry(9, "sell", 10, 10, source="other"), entry(10, "buy", 10, 10, source="me"),
              entry(11, "sell", 10, 10, source="me", market="OTHER-X"),
              entry(12, "sell", 10, 10, source="me", taker="0xt")])
    bound = price_bound("S", Fraction(12, 10))
    assert book.own_side("me", MARKET, "S", bound, limit=10) == mine[:3]


def test_reads_are_counted(backend):
    book = backend.orders
    book.add([entry(i, "sell", 10, 10 + i) for i in range(5)])
    book.stats.reset()
    book.side(MARKET, "S", limit=3)
    book.side(MARKET, "B", limit=3)
    assert (book.stats.round_trips, book.stats.items) == (2, 3)


# -- whole orders ------------------------------------------------------------------------------

def test_a_placed_order_reads_back_whole_by_key_hash_and_batch(backend):
    placed = order(1, taker="0xt", cap="get")
    place(backend, placed)
    assert backend.orders.get(MARKET, placed.tx_hash) == placed
    assert backend.orders.find(placed.tx_hash) == placed
    assert backend.orders.get_many([(MARKET, placed.tx_hash), (MARKET, "cd" * 32)]) == [placed]
    assert backend.orders.get(MARKET, "cd" * 32) is None and backend.orders.find("cd" * 32) is None
    assert backend.orders.get("", placed.tx_hash) is None  # not a key: no request, no error
    assert placed.status_index == f"open#{placed.tx_index:020d}"


def test_placing_an_existing_order_again_fails_and_changes_nothing(backend):
    first = order(1)
    place(backend, first)
    tx = backend.new_tx()
    backend.orders.stage_place(tx, replace(first, give_quantity=99))
    with pytest.raises(store.AlreadyApplied):
        tx.commit("place:again", "place", first.tx_hash, 6)
    assert backend.orders.get(MARKET, first.tx_hash) == first


def test_a_change_closes_an_order_and_takes_it_off_every_open_index(backend):
    placed = order(1, source="me")
    place(backend, placed)
    after = closed(placed, "cancelled", 9)
    change(backend, placed, after)
    assert backend.orders.get(MARKET, placed.tx_hash) == after
    assert backend.orders.side(MARKET, "S", limit=10).entries == []
    assert list(backend.orders.open_of_source("me")) == []
    assert backend.orders.due_to_expire(MARKET, EXPIRES + 1, limit=10) == []
    assert backend.orders.of_asset("ZRX", "cancelled", limit=10) == [after]
    assert backend.orders.of_asset("ZRX", "open", limit=10) == []


def test_a_change_is_conditioned_on_what_was_read(backend):
    placed = order(1)
    place(backend, placed)
    change(backend, placed, replace(placed, give_remaining=4, updated_us=8))
    with pytest.raises(store.StaleRead):  # `placed` is stale: give_remaining moved
        change(backend, placed, closed(placed, "cancelled", 9), "stale")
    assert backend.orders.get(MARKET, placed.tx_hash).give_remaining == 4


def test_expired_with_marks_accumulate_and_an_order_reopens(backend):
    placed = order(1)
    place(backend, placed)
    filled = closed(placed, "filled", 7, give_remaining=0)
    change(backend, placed, filled, "fill")
    back = reopened(filled, give_remaining=3, expired_with=frozenset({"a" * 64}), updated_us=8)
    change(backend, filled, back, "back")
    read = backend.orders.get(MARKET, placed.tx_hash)
    assert read == back and read.book_key == placed.book_key and read.open_expires_at == EXPIRES
    again = replace(read, expired_with=frozenset({"b" * 64}), updated_us=9)  # names only the new mark
    change(backend, read, again, "again")
    assert backend.orders.get(MARKET, placed.tx_hash).expired_with == {"a" * 64, "b" * 64}
    assert backend.orders.side(MARKET, "S", limit=10).entries[0].expired_with == {"a" * 64, "b" * 64}


def test_a_fill_changes_the_remainders_and_may_close(backend):
    first, second = order(1), order(2)
    place(backend, first, second)
    tx = backend.new_tx()
    backend.orders.stage_fill(tx, as_entry(first), 4, 2, 11)
    backend.orders.stage_fill(tx, as_entry(second), 0, 0, 11, close_as="filled")
    tx.commit("settle:1", "settle", MARKET, 11)
    kept, gone = backend.orders.get(MARKET, first.tx_hash), backend.orders.get(MARKET, second.tx_hash)
    assert (kept.status, kept.give_remaining, kept.get_remaining, kept.updated_us) == ("open", 4, 2, 11)
    assert (gone.status, gone.book_key, gone.open_expires_at, gone.status_index) == (
        "filled", None, None, f"filled#{second.tx_index:020d}")
    tx = backend.new_tx()
    backend.orders.stage_fill(tx, as_entry(first), 1, 1, 12)  # read before the fill: stale
    with pytest.raises(store.StaleRead):
        tx.commit("settle:2", "settle", MARKET, 12)


def test_due_to_expire_is_the_market_orders_past_their_expiry(backend):
    soon, late, other = order(1, expires_at=100, open_expires_at=100), order(2), order(3, market="OTHER-X")
    place(backend, soon, late, replace(other, expires_at=50, open_expires_at=50))
    assert backend.orders.due_to_expire(MARKET, 100, limit=10) == [soon]
    assert backend.orders.due_to_expire(MARKET, 99, limit=10) == []


def test_lists_by_asset_owner_and_taker_newest_first(backend):
    orders = [order(i, "sell" if i % 2 else "buy", source="me" if i < 4 else "you",
                    taker="0xt" if i in (2, 5) else None) for i in range(1, 7)]
    place(backend, *orders)
    by_give = backend.orders.of_asset("ZRX", "open", limit=10)  # gives ZRX: the sells; then those getting it
    assert [o.tx_hash for o in by_give] == [orders[i].tx_hash for i in (4, 2, 0, 5, 3, 1)]
    assert [o.tx_hash for o in backend.orders.of_asset("ZRX", "open", limit=1)] == [orders[4].tx_hash,
                                                                                     orders[5].tx_hash]
    assert [o.tx_index for o in backend.orders.of_source("me")] == [1003, 1002, 1001]
    assert [o.tx_index for o in backend.orders.for_taker("0xt")] == [1005, 1002]
    assert [o.side for o in backend.orders.open_of_source("me")] == ["sell", "sell", "buy"]  # T# keys last
    assert len(list(backend.orders.open_of_source("me", limit=2))) == 2


def test_open_side_reads_public_or_restricted_orders_signed_or_not(backend):
    unsigned = replace(order(1, give=10, get=4), signed_order=None, dialect="counterparty")
    signed, hidden = order(2, give=10, get=5), order(3, give=10, get=3, taker="0xt")
    hidden_bid = order(5, "buy", 5, 10, taker="0xt")  # T#0xt#B#...: before the restricted asks
    place(backend, unsigned, signed, hidden, order(4, "buy", 5, 10), hidden_bid)
    assert [o.tx_hash for o in backend.orders.open_side(MARKET, "S")] == [unsigned.tx_hash, signed.tx_hash]
    assert list(backend.orders.open_side(MARKET, "S", signed_only=True)) == [signed]
    assert list(backend.orders.open_side(MARKET, "S", restricted=True)) == [hidden]
    assert list(backend.orders.open_side(MARKET, "B", restricted=True)) == [hidden_bid]
    assert [o.tx_hash for o in backend.orders.open_side(MARKET, "S", limit=1)] == [unsigned.tx_hash]
    assert list(backend.orders.open_side(MARKET, "S", restricted=True, limit=1)) == [hidden]


def test_pages_resume_after_the_last_order_read_even_once_it_closed(backend):
    orders = [order(i, give=10, get=10 + i, source="me") for i in range(1, 8)]
    place(backend, *orders)
    first = backend.orders.page_book(MARKET, 3, None)
    assert first.rows == orders[:3] and first.cursor
    for o in first.rows:  # what an operator's cancel does: they leave the sparse index
        change(backend, o, closed(o, "cancelled", 9), f"cancel:{o.tx_hash}")
    second = backend.orders.page_book(MARKET, 3, first.cursor)
    assert second.rows == orders[3:6]
    rest = backend.orders.page_book(MARKET, 3, second.cursor)
    assert rest.rows == orders[6:]
    assert backend.orders.page_open_of_source("me", 10, None).rows == orders[3:]
    newest = backend.orders.page_of_source("me", 2, None, lambda o: o.status == "cancelled")
    assert newest.rows == [closed(o, "cancelled", 9) for o in reversed(orders[:3])][:2]
    older = backend.orders.page_of_source("me", 2, newest.cursor, lambda o: o.status == "cancelled")
    assert older.rows == [closed(orders[0], "cancelled", 9)]


def test_a_cursor_of_another_listing_is_refused(backend):
    place(backend, *[order(i, source="me") for i in range(1, 4)])
    of_source = backend.orders.page_of_source("me", 1, None, lambda _o: True).cursor
    with pytest.raises(InvalidInput):
        backend.orders.page_book(MARKET, 1, of_source)
    book = backend.orders.page_book(MARKET, 1, None).cursor
    with pytest.raises(InvalidInput):
        backend.orders.page_book("OTHER-X", 1, book)  # another partition
    with pytest.raises(InvalidInput):
        backend.orders.page_book(MARKET, 1, "not-a-cursor")


def test_every_order_is_there_for_the_audit(backend):
    place(backend, order(1), order(2, status="filled"))
    with support.allow_scans():
        assert {o.tx_hash for o in backend.orders.every(100)} == {f"{1:064x}", f"{2:064x}"}
