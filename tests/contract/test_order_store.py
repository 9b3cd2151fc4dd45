"""The order book store: DynamoDB (moto, or DynamoDB Local with LAMBDEX_TEST_BACKEND=ddblocal)
and in memory pass the same tests: side order, key ranges, paging, restricted key space,
projected entries."""

from __future__ import annotations

from fractions import Fraction

import pytest

from chalicelib.ledger.stores import orders as order_store
from chalicelib.ledger.stores.orders import BookEntry, DynamoOrderBook, MemoryOrderBook

MARKET = "ZRX-WETH"


@pytest.fixture(params=["memory", "dynamodb"])
def book(request):
    if request.param == "memory":
        yield MemoryOrderBook()
    else:
        request.getfixturevalue("ledger")
        yield DynamoOrderBook()


def entry(n: int, side: str, give: int, get: int, *, taker: str | None = None, market: str = MARKET,
          expired_with: frozenset[str] = frozenset(), cap: str = "give") -> BookEntry:
    tx_hash = f"{n:064x}"
    give_asset, get_asset = ("ZRX", "WETH") if side == "sell" else ("WETH", "ZRX")
    return BookEntry(market=market, tx_hash=tx_hash, tx_index=1_000 + n, source=f"acct{n % 3}", side=side,
                     give_asset=give_asset, give_quantity=give, give_remaining=give, get_asset=get_asset,
                     get_quantity=get, get_remaining=get, expires_at=2_000_000_000,
                     book_key=order_store.book_key(side, give, get, 1_000 + n, tx_hash, taker), taker=taker,
                     cap=cap, expired_with=expired_with, block_index=7, expiration=100)


def test_sides_read_best_first_with_every_field(book):
    asks = [entry(1, "sell", 10, 6), entry(2, "sell", 10, 5), entry(3, "sell", 10, 5, cap="get")]
    bids = [entry(4, "buy", 6, 10, expired_with=frozenset({"ab" * 32})), entry(5, "buy", 7, 10)]
    book.add(asks + bids + [entry(6, "sell", 1, 1, market="OTHER-X")])
    page = book.side(MARKET, "S", limit=10)
    assert [e.tx_hash for e in page.entries] == [asks[1].tx_hash, asks[2].tx_hash, asks[0].tx_hash]
    assert page.entries[1] == asks[2]  # every projected field comes back as written
    assert not page.more
    assert book.side(MARKET, "B", limit=10).entries == [bids[1], bids[0]]  # 0.7 WETH per ZRX bids best


def test_limit_paging_and_price_bounds(book):
    asks = [entry(i, "sell", 10, 10 + i) for i in range(10)]  # asks 1.0, 1.1, ... 1.9
    book.add(asks)
    first = book.side(MARKET, "S", limit=4)
    assert first.entries == asks[:4] and first.more
    rest = book.side(MARKET, "S", limit=4, after=first.entries[-1].book_key)
    assert rest.entries == asks[4:8]
    bound = order_store.price_bound("S", Fraction(13, 10))  # every ask at most 1.3
    upto = book.side(MARKET, "S", limit=100, upper=bound)
    assert upto.entries == asks[:4] and not upto.more
    assert book.side(MARKET, "S", limit=100, upper=bound, after=asks[1].book_key).entries == asks[2:4]


def test_restricted_orders_are_off_the_public_sides(book):
    public = entry(1, "sell", 10, 5)
    hidden = [entry(2, "sell", 10, 1, taker="0xtaker"), entry(3, "buy", 10, 1, taker="0xtaker"),
              entry(4, "sell", 10, 1, taker="0xother")]
    book.add([public, *hidden])
    assert book.side(MARKET, "S", limit=10).entries == [public]
    assert book.side(MARKET, "B", limit=10).entries == []
    assert book.restricted_to(MARKET, "0xtaker", limit=10).entries == [hidden[1], hidden[0]]  # buys first
    assert {e.taker for e in book.restricted_from(MARKET, "", limit=10).entries} == {"0xtaker", "0xother"}
    assert [e.taker for e in book.restricted_from(MARKET, "0xt", limit=10).entries] == ["0xtaker", "0xtaker"]


def test_get_reads_one_open_order(book):
    order = entry(1, "buy", 5, 9)
    book.add([order])
    assert book.get(MARKET, order.tx_hash) == order
    assert book.get(MARKET, "cd" * 32) is None


def test_reads_are_counted(book):
    book.add([entry(i, "sell", 10, 10 + i) for i in range(5)])
    book.stats.reset()
    book.side(MARKET, "S", limit=3)
    book.side(MARKET, "B", limit=3)
    assert (book.stats.round_trips, book.stats.items) == (2, 3)
