"""The bounded price-level read on both order stores (in memory and DynamoDB): at a 2,000-order
book it pages through the `book` index with the store's own Query (ExclusiveStartKey after the
last key read) and reads only the orders of the top levels plus one page a side."""

from __future__ import annotations

from chalicelib.ledger import stores
from chalicelib.ledger.market_data import LEVEL_PAGE, price_levels
from tests.unit.test_price_levels import MARKET, deep_book, entry, full_levels


def test_a_2000_order_book_reads_the_top_levels_and_one_page(backend):
    book = deep_book(levels=200, per_level=5) + [entry(9_000, "sell", 100, 999, taker="0xtaker")]
    backend.orders.add(book)
    for side, depth in (("buy", 50), ("sell", 50), ("sell", 1)):
        backend.orders.stats.reset()
        assert price_levels(MARKET, side, depth) == full_levels(book, side, depth)
        top = depth * 5  # orders in the top `depth` levels
        assert top < backend.orders.stats.items <= top + LEVEL_PAGE
    assert stores.orders() is backend.orders
