"""The bounded price-level read (`market_data.read_levels`, and `snapshots.live_levels` built on
it) gives exactly what summing the whole side gives, on random books with many orders per
level, dust, prices that share a key's 40-digit price part, and taker-restricted orders; and at
its cap it reads no more than the cap, the level being read then a lower bound."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.ledger import stores
from chalicelib.ledger.market_data import LEVEL_PAGE, base_quantity, limit_price, price_part, read_levels
from chalicelib.ledger.stores.orders import BookEntry, MemoryOrders, book_key
from chalicelib.realtime import snapshots

MARKET = "ZRX-WETH"
NEAR = 10**50  # prices p and p * (1 + k / NEAR) differ past the key's 40 digits: one price part


def entry(n: int, side: str, give: int, get: int, *, left: Fraction = Fraction(1), taker: str | None = None,
          market: str = MARKET) -> BookEntry:
    tx_hash = f"{n:064x}"
    give_asset, get_asset = ("ZRX", "WETH") if side == "sell" else ("WETH", "ZRX")
    return BookEntry(tx_hash=tx_hash, tx_index=n, source=f"acct{n % 5}", give_asset=give_asset,
                     give_quantity=give, give_remaining=int(give * left), get_asset=get_asset, get_quantity=get,
                     get_remaining=int(get * left), taker=taker, market=market, side=side,
                     expires_at=2_000_000_000, book_key=book_key(side, give, get, n, tx_hash, taker))


def full_levels(entries: list[BookEntry], side: str, depth: int) -> list[tuple[Fraction, int]]:
    """The old computation: every public order of the side summed, sorted exactly, cut at depth."""
    levels: dict[Fraction, int] = {}
    for e in entries:
        if e.side == side and e.taker is None and e.market == MARKET:
            levels[limit_price(e)] = levels.get(limit_price(e), 0) + base_quantity(e)
    ordered = sorted(levels.items(), key=lambda level: level[0], reverse=(side == "buy"))
    return [level for level in ordered if level[1] > 0][:depth]


@st.composite
def books(draw) -> list[BookEntry]:
    """Orders on a few prices (many per level), some a hair apart (one key price part)."""
    bases = draw(st.lists(st.integers(1, 40), min_size=1, max_size=8, unique=True))
    found = []
    for n in range(draw(st.integers(0, 70))):
        side = draw(st.sampled_from(("buy", "sell")))
        quote_per_base = Fraction(draw(st.sampled_from(bases)), 10)
        if draw(st.booleans()):  # a price a hair above or below: same key price part, other level
            quote_per_base *= Fraction(NEAR + draw(st.integers(-2, 2)), NEAR)
        base = draw(st.integers(1, 30)) * quote_per_base.denominator * NEAR
        quote = int(base * quote_per_base)
        give, get = (base, quote) if side == "sell" else (quote, base)
        left = draw(st.sampled_from((Fraction(1), Fraction(1, 2), Fraction(0), Fraction(1, 10**60))))  # dust too
        taker = draw(st.sampled_from((None, None, None, "0xtaker")))
        market = draw(st.sampled_from((MARKET, MARKET, MARKET, "OTHER-WETH")))
        found.append(entry(n, side, give, get, left=left, taker=taker, market=market))
    return found


@settings(max_examples=300, deadline=None)
@given(book=books(), depth=st.integers(1, 6), page=st.integers(1, 9))
def test_bounded_read_equals_the_whole_side(book, depth, page):
    orders = MemoryOrders()
    orders.add(book)
    for side in ("buy", "sell"):
        assert read_levels(orders, MARKET, side, depth, page=page) == full_levels(book, side, depth)


@settings(max_examples=100, deadline=None)
@given(book=books())
def test_live_levels_equal_the_whole_book_small_or_large(book):
    memory = stores.in_memory()
    memory.orders.add(book)
    with stores.using(memory):
        live = snapshots.live_levels(MARKET)
    assert live == {"bids": full_levels(book, "buy", snapshots.BOOK_DEPTH),
                    "asks": full_levels(book, "sell", snapshots.BOOK_DEPTH)}


def test_near_prices_share_a_price_part_and_stay_apart():
    a = entry(1, "sell", 10 * NEAR, 5 * NEAR)
    b = entry(2, "sell", 10 * NEAR, 5 * NEAR + 10)
    assert price_part(a.book_key) == price_part(b.book_key) and limit_price(a) != limit_price(b)


def deep_book(levels: int, per_level: int) -> list[BookEntry]:
    """`levels` distinct prices a side, `per_level` orders on each, both sides apart."""
    n = iter(range(1, 10**6))
    return ([entry(next(n), "buy", 1_000 - p, 100) for p in range(levels) for _ in range(per_level)]
            + [entry(next(n), "sell", 100, 1_000 + p) for p in range(levels) for _ in range(per_level)])


def test_a_2000_order_book_reads_its_top_levels_and_one_page():
    memory = stores.in_memory()
    book = deep_book(levels=200, per_level=5)  # 1,000 a side
    memory.orders.add(book)
    top = 50 * 5  # orders in the top 50 levels of a side
    for side in ("buy", "sell"):
        memory.orders.stats.reset()
        assert read_levels(memory.orders, MARKET, side, 50) == full_levels(book, side, 50)
        assert top < memory.orders.stats.items <= top + LEVEL_PAGE
    memory.orders.stats.reset()
    with stores.using(memory):
        live = snapshots.live_levels(MARKET)
    assert live == {"bids": full_levels(book, "buy", 50), "asks": full_levels(book, "sell", 50)}
    assert memory.orders.stats.items <= snapshots.SMALL_BOOK + 2 * (top + LEVEL_PAGE)


def test_the_cap_bounds_the_read_and_the_level_is_a_lower_bound():
    orders = MemoryOrders()
    book = [entry(n, "sell", 10, 5) for n in range(1, 61)] + [entry(100, "sell", 10, 9)]
    orders.add(book)
    levels = read_levels(orders, MARKET, "sell", 2, page=7, cap=40)
    assert orders.stats.items == 40
    assert levels == [(Fraction(1, 2), 400)]  # 40 of the 60 orders at 1/2: a lower bound, the next unseen
    assert full_levels(book, "sell", 2) == [(Fraction(1, 2), 600), (Fraction(9, 10), 10)]
