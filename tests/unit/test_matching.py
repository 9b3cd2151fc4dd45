"""Tests for the pure matching engine (chalicelib.ledger.matching)."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chalicelib.ledger.matching import (
    BookOrder,
    Fill,
    MatchResult,
    OrderOutcome,
    _max_valid_forward,
    book_sort_key,
    crosses,
    is_dust,
    match_orders,
    order_price,
)

A, B = "AAA", "BBB"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def order(
    tx_hash: str,
    tx_index: int,
    give_asset: str,
    give_quantity: int,
    get_asset: str,
    get_quantity: int,
    *,
    source: str = "alice",
    give_remaining: int | None = None,
    get_remaining: int | None = None,
    taker: str | None = None,
) -> BookOrder:
    return BookOrder(
        tx_hash=tx_hash,
        tx_index=tx_index,
        source=source,
        give_asset=give_asset,
        give_quantity=give_quantity,
        give_remaining=give_quantity if give_remaining is None else give_remaining,
        get_asset=get_asset,
        get_quantity=get_quantity,
        get_remaining=get_quantity if get_remaining is None else get_remaining,
        taker=taker,
    )


# --------------------------------------------------------------------------- reference matcher
# Deliberately naive: plain lists, a linear scan for the best maker each time,
# and the literal "decrement forward by one" rule from the specification.


class TooManySteps(Exception):
    pass


def ref_fill(tx0: BookOrder, r0: int, tx1: BookOrder, r1: int, max_steps: int = 20_000) -> tuple[int, int]:
    p0 = Fraction(tx0.get_quantity, tx0.give_quantity)
    forward = min(r0, math.floor(Fraction(r1) / p0))
    backward = math.ceil(forward * p0)
    steps = 0
    while forward > 0 and (backward > r1 or backward * tx1.get_quantity > forward * tx1.give_quantity):
        forward -= 1
        backward = math.ceil(forward * p0)
        steps += 1
        if steps > max_steps:
            raise TooManySteps
    if forward <= 0 or backward <= 0:
        return 0, 0
    return forward, backward


def ref_closed(o: BookOrder, give_rem: int, get_rem: int) -> bool:
    would_get = math.floor(Fraction(give_rem * o.get_quantity, o.give_quantity))
    return give_rem == 0 or get_rem <= 0 or would_get == 0


def ref_eligible(x: BookOrder, y: BookOrder) -> bool:
    return (x.taker is None or x.taker == y.source) and (y.taker is None or y.taker == x.source)


def ref_match(orders: list[BookOrder], fee_rate: Fraction = Fraction(0)) -> MatchResult:
    state = {o.tx_hash: [o.give_remaining, o.get_remaining] for o in orders}
    changed: set[str] = set()
    closed: set[str] = set()
    resting: list[BookOrder] = []
    fills = []
    for tx1 in sorted(orders, key=lambda o: (o.tx_index, o.tx_hash)):
        s1 = state[tx1.tx_hash]
        if ref_closed(tx1, *s1):
            closed.add(tx1.tx_hash)
            changed.add(tx1.tx_hash)
            continue
        tried: set[str] = set()
        while tx1.tx_hash not in closed:
            candidates = [
                o
                for o in resting
                if o.tx_hash not in closed
                and o.tx_hash not in tried
                and o.give_asset == tx1.get_asset
                and ref_eligible(o, tx1)
                and Fraction(o.get_quantity, o.give_quantity) <= Fraction(tx1.give_quantity, tx1.get_quantity)
            ]
            if not candidates:
                break
            tx0 = min(candidates, key=lambda o: (order_price(o), o.tx_index, o.tx_hash))
            tried.add(tx0.tx_hash)
            s0 = state[tx0.tx_hash]
            forward, backward = ref_fill(tx0, s0[0], tx1, s1[0])
            if forward == 0:
                continue
            fee = math.floor(forward * fee_rate)
            fills.append(
                Fill(tx0.tx_hash, tx1.tx_hash, tx0.give_asset, forward, tx1.give_asset, backward, fee)
            )
            s0[0] -= forward
            s0[1] -= backward
            s1[0] -= backward
            s1[1] -= forward
            changed.update((tx0.tx_hash, tx1.tx_hash))
            if ref_closed(tx0, *s0):
                closed.add(tx0.tx_hash)
            if ref_closed(tx1, *s1):
                closed.add(tx1.tx_hash)
        if tx1.tx_hash not in closed:
            resting.append(tx1)
    outcomes = {}
    for h in changed:
        g, r = state[h]
        outcomes[h] = OrderOutcome(h, g, r, h in closed, g if h in closed else 0)
    return MatchResult(tuple(fills), outcomes)


# --------------------------------------------------------------------------- strategies


def _quantity(draw, big: bool) -> int:
    return draw(st.integers(1, 10**30 if big else 10**6))


@st.composite
def order_flows(draw, max_orders: int = 10):
    n = draw(st.integers(0, max_orders))
    # A market price for A in units of B, with orders spread around it so that many cross.
    mid = Fraction(draw(st.integers(1, 1000)), draw(st.integers(1, 1000)))
    hex4 = st.text("0123456789abcdef", min_size=4, max_size=4)
    hashes = draw(st.lists(hex4, min_size=n, max_size=n, unique=True))
    sources = ["alice", "bob", "carol"]
    orders = []
    for i in range(n):
        sells_a = draw(st.booleans())
        big = draw(st.integers(0, 4)) == 0
        give_q = _quantity(draw, big)
        if draw(st.integers(0, 5)) == 0:
            get_q = _quantity(draw, draw(st.booleans()))  # arbitrary price
        else:
            spread = Fraction(draw(st.integers(-300, 300)), 1000)
            price = (mid if sells_a else 1 / mid) * (1 + spread)  # get per give
            get_q = max(1, round(give_q * price))
        give_rem, get_rem = give_q, get_q
        shape = draw(st.integers(0, 9))
        if shape == 0:  # partly filled earlier, consistent remainders
            give_rem = draw(st.integers(0, give_q))
            get_rem = get_q - (give_q - give_rem) * get_q // give_q
        elif shape == 1:  # tiny remainder: likely dust
            give_rem = draw(st.integers(0, min(give_q, 3)))
            get_rem = draw(st.integers(-2, get_q))
        taker = draw(st.sampled_from(sources)) if draw(st.integers(0, 5)) == 0 else None
        orders.append(
            BookOrder(
                tx_hash=hashes[i],
                tx_index=draw(st.integers(0, 2 * max_orders)),
                source=draw(st.sampled_from(sources)),
                give_asset=A if sells_a else B,
                give_quantity=give_q,
                give_remaining=give_rem,
                get_asset=B if sells_a else A,
                get_quantity=get_q,
                get_remaining=get_rem,
                taker=taker,
            )
        )
    return orders


fee_rates = st.sampled_from([Fraction(0), Fraction(1, 1000), Fraction(1, 400), Fraction(3, 7), Fraction(1)])


def ref_or_reject(orders, rate):
    try:
        return ref_match(orders, rate)
    except TooManySteps:  # the naive reference is O(quantity) in rare near-equal-price cases
        assume(False)


# --------------------------------------------------------------------------- properties


@FAST
@given(order_flows(), fee_rates)
def test_matches_reference_and_invariants(orders, rate):
    result = match_orders(orders, rate)
    expected = ref_or_reject(orders, rate)
    assert result.fills == expected.fills
    assert result.outcomes == expected.outcomes

    by_hash = {o.tx_hash: o for o in orders}
    rank = {o.tx_hash: (o.tx_index, o.tx_hash) for o in orders}
    for f in result.fills:
        tx0, tx1 = by_hash[f.tx0_hash], by_hash[f.tx1_hash]
        assert rank[f.tx0_hash] < rank[f.tx1_hash]  # makers arrived earlier
        assert f.forward_asset == tx0.give_asset and f.backward_asset == tx1.give_asset
        assert f.forward_quantity > 0 and f.backward_quantity > 0
        # maker gets at least its price; taker pays at most its limit
        assert f.backward_quantity * tx0.give_quantity >= f.forward_quantity * tx0.get_quantity
        assert f.backward_quantity * tx1.get_quantity <= f.forward_quantity * tx1.give_quantity
        assert f.fee == f.forward_quantity * rate.numerator // rate.denominator
        assert 0 <= f.fee <= f.forward_quantity
        assert tx0.taker in (None, tx1.source) and tx1.taker in (None, tx0.source)

    # final state of every order
    final = {o.tx_hash: (o.give_remaining, o.get_remaining, False) for o in orders}
    for h, out in result.outcomes.items():
        assert out.tx_hash == h
        assert out.give_remaining >= 0
        assert out.refund == (out.give_remaining if out.closed else 0)
        final[h] = (out.give_remaining, out.get_remaining, out.closed)
    for o in orders:
        if o.tx_hash not in result.outcomes:
            assert not ref_closed(o, o.give_remaining, o.get_remaining)

    # conservation per asset
    for asset in (A, B):
        locked = sum(o.give_remaining for o in orders if o.give_asset == asset)
        gives = [o.tx_hash for o in orders if o.give_asset == asset]
        still_open = sum(final[h][0] for h in gives if not final[h][2])
        refunded = sum(result.outcomes[h].refund for h in gives if h in result.outcomes)
        moved = sum(f.forward_quantity for f in result.fills if f.forward_asset == asset) + sum(
            f.backward_quantity for f in result.fills if f.backward_asset == asset
        )
        assert locked == still_open + refunded + moved

    # the book left behind is uncrossed: an eligible pair that still crosses on
    # price can no longer trade even one unit (integer granularity), i.e. the
    # later order would get a zero fill against the earlier one.
    open_orders = sorted((o for o in orders if not final[o.tx_hash][2]), key=lambda o: rank[o.tx_hash])
    for i, x in enumerate(open_orders):
        for y in open_orders[i + 1 :]:
            if crosses(x, y) and ref_eligible(x, y):
                assert ref_fill(x, final[x.tx_hash][0], y, final[y.tx_hash][0]) == (0, 0)

    # independent of input iteration order
    shuffled = list(orders)
    random.Random(len(orders)).shuffle(shuffled)
    assert match_orders(shuffled, rate) == result
    assert match_orders(reversed(orders), rate) == result


@FAST
@given(order_flows())
def test_uncrossed_book_is_stable(orders):
    """Matching the open orders that a run leaves behind produces no fills."""
    result = match_orders(orders)
    rest = []
    for o in orders:
        out = result.outcomes.get(o.tx_hash)
        if out is None:
            rest.append(o)
        elif not out.closed:
            rest.append(replace(o, give_remaining=out.give_remaining, get_remaining=out.get_remaining))
    again = match_orders(rest)
    assert again.fills == () and again.outcomes == {}


@settings(max_examples=400, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(1, 60),
    st.integers(1, 60),
    st.integers(1, 60),
    st.integers(0, 300),
)
def test_max_valid_forward_matches_brute_force(n0, d0, n1, d1, limit):
    a, c = sorted((Fraction(n0, d0), Fraction(n1, d1)))
    brute = next((f for f in range(limit, 0, -1) if math.ceil(f * a) <= f * c), 0)
    assert _max_valid_forward(limit, a, c) == brute


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**38), st.integers(1, 10**38), st.integers(1, 10**40), st.integers(1, 10**38))
def test_max_valid_forward_large_is_valid_and_maximal_nearby(num, den, gap_den, limit):
    a = Fraction(num, den)
    c = a + Fraction(1, gap_den)
    f = _max_valid_forward(limit, a, c)
    assert 0 <= f <= limit
    if f:
        assert math.ceil(f * a) <= f * c
    for g in range(f + 1, min(limit, f + 200) + 1):  # nothing valid just above
        assert math.ceil(g * a) > g * c


# --------------------------------------------------------------------------- book_sort_key


def _lead_digits(p: Fraction, digits: int = 40) -> tuple[int, int]:
    e = math.floor(math.log10(p.numerator)) - math.floor(math.log10(p.denominator)) + 2
    while p < Fraction(10) ** e:
        e -= 1
    return e, math.floor(p * Fraction(10) ** (digits - 1 - e))


prices_38 = st.builds(Fraction, st.integers(1, 10**38), st.integers(1, 10**38))
prices_19 = st.builds(Fraction, st.integers(1, 10**19), st.integers(1, 10**19))
idx = st.integers(0, 10**20 - 1)
hashes = st.text("0123456789abcdef", min_size=0, max_size=6)


@settings(max_examples=300, deadline=None)
@given(prices_38, idx, hashes, prices_38, idx, hashes)
def test_book_sort_key_never_inverts(p1, i1, h1, p2, i2, h2):
    k1, k2 = book_sort_key(p1, i1, h1), book_sort_key(p2, i2, h2)
    assert len(k1.split(":")[0]) == 4 and len(k1.split(":")[1]) == 40 and len(k1.split(":")[2]) == 20
    if (p1, i1, h1) < (p2, i2, h2):
        assert k1 <= k2
    if k1.split(":")[:2] == k2.split(":")[:2]:
        assert _lead_digits(p1) == _lead_digits(p2)  # only 40-digit ties collapse
    else:
        assert (k1 < k2) == (p1 < p2)


@settings(max_examples=300, deadline=None)
@given(prices_19, idx, hashes, prices_19, idx, hashes)
def test_book_sort_key_exact_for_19_digit_fractions(p1, i1, h1, p2, i2, h2):
    # distinct fractions with numerator and denominator <= 10**19 differ within 40 digits
    k1, k2 = book_sort_key(p1, i1, h1), book_sort_key(p2, i2, h2)
    assert (k1 < k2) == ((p1, i1, h1) < (p2, i2, h2))
    assert (k1 == k2) == ((p1, i1, h1) == (p2, i2, h2))


@settings(max_examples=100, deadline=None)
@given(prices_38, st.integers(1, 10**45))
def test_book_sort_key_adjacent_prices(p, n):
    q = p + Fraction(1, n)
    k1, k2 = book_sort_key(p, 5, "x"), book_sort_key(q, 0, "a")
    assert k1[:45] <= k2[:45]


def test_book_sort_key_examples():
    assert book_sort_key(Fraction(1), 7, "ab") == "1000:" + "1" + "0" * 39 + ":" + "0" * 19 + "7:ab"
    assert book_sort_key(Fraction(1, 8), 0, "") == "0999:125" + "0" * 37 + ":" + "0" * 20 + ":"
    assert book_sort_key(Fraction(1, 3), 0, "")[5:45] == "3" * 40
    assert book_sort_key(Fraction(10**38), 0, "")[:4] == "1038"
    assert book_sort_key(Fraction(1, 10**38), 0, "")[:4] == "0962"
    ladder = (Fraction(1, 10**38), Fraction(9, 10), Fraction(1), Fraction(99, 10), Fraction(10**38))
    keys = [book_sort_key(p, 0, "") for p in ladder]
    assert keys == sorted(keys)
    with pytest.raises(ValueError):
        book_sort_key(Fraction(0), 0, "h")
    with pytest.raises(ValueError):
        book_sort_key(Fraction(1), 10**20, "h")
    with pytest.raises(ValueError):
        book_sort_key(Fraction(1), -1, "h")


# --------------------------------------------------------------------------- examples


def test_helpers():
    o = order("t", 1, A, 4, B, 6)
    assert order_price(o) == Fraction(3, 2)
    assert crosses(o, order("u", 2, B, 6, A, 4))  # exactly complementary
    assert crosses(o, order("u", 2, B, 7, A, 4))  # better for o
    assert not crosses(o, order("u", 2, B, 5, A, 4))  # asks too much
    assert not crosses(o, order("u", 2, A, 6, B, 4))  # same side
    assert is_dust(0, 4, 6)
    assert is_dust(2, 10, 3)  # 2 * 3 / 10 < 1
    assert not is_dust(4, 10, 3)  # 4 * 3 / 10 = 1.2


def test_counterparty_example_maker_price():
    # tx0 gives 1 XCP (100000000) for 0.008 BTC (800000): price 0.008 BTC/XCP.
    tx0 = order("tx0", 1, "XCP", 100_000_000, "BTC", 800_000, source="maker")
    # tx1 offers up to 0.01 BTC for 1 XCP: it crosses and trades at the maker's price.
    tx1 = order("tx1", 2, "BTC", 1_000_000, "XCP", 100_000_000, source="taker")
    result = match_orders([tx1, tx0])
    assert result.fills == (Fill("tx0", "tx1", "XCP", 100_000_000, "BTC", 800_000, 0),)
    assert result.outcomes == {
        "tx0": OrderOutcome("tx0", 0, 0, True, 0),
        # got everything it wanted; the 0.002 BTC it did not need is refunded
        "tx1": OrderOutcome("tx1", 200_000, 0, True, 200_000),
    }


def test_exact_complementary_orders_fill_both():
    tx0 = order("tx0", 1, "XCP", 100_000_000, "BTC", 800_000)
    tx1 = order("tx1", 2, "BTC", 800_000, "XCP", 100_000_000, source="bob")
    result = match_orders([tx0, tx1])
    assert result.fills == (Fill("tx0", "tx1", "XCP", 100_000_000, "BTC", 800_000, 0),)
    assert all(o.closed and o.refund == 0 for o in result.outcomes.values())


def test_partial_fill_leaves_maker_open():
    tx0 = order("m", 1, A, 1000, B, 2000)
    tx1 = order("t", 2, B, 600, A, 300, source="bob")
    result = match_orders([tx0, tx1])
    assert result.fills == (Fill("m", "t", A, 300, B, 600, 0),)
    assert result.outcomes == {
        "m": OrderOutcome("m", 700, 1400, False, 0),
        "t": OrderOutcome("t", 0, 0, True, 0),
    }


def test_taker_walks_the_book_best_price_then_time():
    m1 = order("m1", 1, A, 100, B, 300, source="s1")  # 3 B/A
    m2 = order("m2", 2, A, 100, B, 200, source="s2")  # 2 B/A, best
    m3 = order("m3", 3, A, 100, B, 200, source="s3")  # 2 B/A, later than m2
    m4 = order("m4", 4, A, 100, B, 500, source="s4")  # 5 B/A, beyond the taker's limit
    t = order("t", 5, B, 1000, A, 300, source="bob")  # pays up to 10/3 B/A
    result = match_orders([m4, t, m1, m3, m2])
    assert result.fills == (
        Fill("m2", "t", A, 100, B, 200, 0),
        Fill("m3", "t", A, 100, B, 200, 0),
        Fill("m1", "t", A, 100, B, 300, 0),
    )
    assert result.outcomes["t"] == OrderOutcome("t", 300, 0, True, 300)
    assert "m4" not in result.outcomes


def test_taker_rests_with_remainder():
    m = order("m", 1, A, 10, B, 20)
    t = order("t", 2, B, 100, A, 40, source="bob")  # wants 40 A at 2.5 B/A, only 10 A available at 2
    result = match_orders([m, t])
    assert result.fills == (Fill("m", "t", A, 10, B, 20, 0),)
    assert result.outcomes["t"] == OrderOutcome("t", 80, 30, False, 0)
    # a later seller at 2.5 B/A meets the rested remainder at the remainder's price
    s = order("s", 3, A, 30, B, 75, source="carol")
    again = match_orders([m, t, s])
    assert again.fills[1] == Fill("t", "s", B, 75, A, 30, 0)


def test_already_uncrossed_book_yields_nothing():
    orders = [
        order("a1", 1, A, 100, B, 300),
        order("a2", 2, A, 50, B, 200),
        order("b1", 3, B, 250, A, 100, source="bob"),  # pays 2.5 B/A < 3
    ]
    assert match_orders(orders) == MatchResult((), {})


def test_rounding_favours_maker_and_get_remaining_closes():
    m = order("m", 1, A, 3, B, 2)  # asks 2/3 B per A
    t1 = order("t1", 2, B, 1, A, 1, source="bob")
    t2 = order("t2", 3, B, 1, A, 1, source="carol")
    result = match_orders([m, t1, t2])
    # one unit of A costs ceil(2/3) = 1 B each time
    assert result.fills == (Fill("m", "t1", A, 1, B, 1, 0), Fill("m", "t2", A, 1, B, 1, 0))
    # the maker got the 2 B it asked for: closed, the last A is refunded
    assert result.outcomes["m"] == OrderOutcome("m", 1, 0, True, 1)


def test_dust_after_fill_is_closed_and_refunded():
    m = order("m", 1, A, 10, B, 3)  # asks 0.3 B per A
    t = order("t", 2, B, 2, A, 7, source="bob")  # pays up to 2/7 B per A... does not cross
    assert not crosses(m, t)
    t = order("t", 2, B, 2, A, 6, source="bob")  # pays up to 1/3 B per A
    result = match_orders([m, t])
    # forward = floor(2 / 0.3) = 6 A, backward = ceil(1.8) = 2 B
    assert result.fills == (Fill("m", "t", A, 6, B, 2, 0),)
    # m keeps 4 A that still buy floor(4 * 0.3) = 1 B: open; t got all it wanted
    assert result.outcomes["m"] == OrderOutcome("m", 4, 1, False, 0)
    t3 = order("t3", 3, B, 1, A, 3, source="carol")  # forward = floor(1 / 0.3) = 3, backward = 1
    result = match_orders([m, t, t3])
    assert result.fills[1] == Fill("m", "t3", A, 3, B, 1, 0)
    # 1 A left would buy floor(0.3) = 0 B: dust, closed and refunded (get_remaining is already 0 too)
    assert result.outcomes["m"] == OrderOutcome("m", 1, 0, True, 1)


def test_dust_only_close():
    # 3 A left of an order asking 1 B per 10 A: it can never receive a unit
    m = order("m", 1, A, 100, B, 10, give_remaining=3, get_remaining=1)
    assert is_dust(3, 100, 10)
    t = order("t", 2, B, 5, A, 100, source="bob")
    result = match_orders([m, t])
    assert result.fills == ()
    assert result.outcomes == {"m": OrderOutcome("m", 3, 1, True, 3)}


def test_incoming_dust_order_closes_without_fills():
    m = order("m", 1, A, 100, B, 100)
    dust = order("d", 2, B, 10, A, 3, give_remaining=3, get_remaining=1, source="bob")  # 3 * 3/10 < 1
    result = match_orders([m, dust])
    assert result.fills == ()
    assert result.outcomes == {"d": OrderOutcome("d", 3, 1, True, 3)}


def test_entering_orders_already_done_are_closed():
    done = order("x", 1, A, 10, B, 10, give_remaining=4, get_remaining=0)
    empty = order("y", 2, A, 10, B, 10, give_remaining=0, get_remaining=5)
    result = match_orders([done, empty])
    assert result.outcomes == {
        "x": OrderOutcome("x", 4, 0, True, 4),
        "y": OrderOutcome("y", 0, 5, True, 0),
    }


def test_price_crossing_below_one_unit_does_not_trade():
    # Semantic edge: prices cross, but the taker's 1 B cannot buy a whole A at the
    # maker's price (ceil(2/3) = 1 B for 1 A) without exceeding its own limit of 5/7 B per A.
    m = order("m", 1, A, 3, B, 2)
    t = order("t", 2, B, 5, A, 7, give_remaining=1, get_remaining=7, source="bob")
    assert crosses(m, t) and not is_dust(1, 5, 7)
    assert match_orders([m, t]) == MatchResult((), {})


def test_taker_restriction_on_maker():
    private = order("p", 1, A, 100, B, 100, source="alice", taker="bob")
    public = order("q", 2, A, 100, B, 150, source="dave")
    carol = order("c", 3, B, 150, A, 100, source="carol")
    result = match_orders([private, public, carol])
    assert result.fills == (Fill("q", "c", A, 100, B, 150, 0),)
    bob = order("b", 3, B, 150, A, 100, source="bob")
    result = match_orders([private, public, bob])
    assert result.fills[0] == Fill("p", "b", A, 100, B, 100, 0)


def test_taker_restriction_on_incoming_order():
    m1 = order("m1", 1, A, 100, B, 100, source="alice")
    m2 = order("m2", 2, A, 100, B, 120, source="bob")
    t = order("t", 3, B, 120, A, 100, source="carol", taker="bob")
    result = match_orders([m1, m2, t])
    assert result.fills == (Fill("m2", "t", A, 100, B, 120, 0),)
    assert "m1" not in result.outcomes


def test_fee_rounding():
    rate = Fraction(1, 1000)
    for qty, fee in ((999, 0), (1000, 1), (1999, 1), (2999, 2), (10**30, 10**27)):
        m = order("m", 1, A, qty, B, qty)
        t = order("t", 2, B, qty, A, qty, source="bob")
        (fill,) = match_orders([m, t], rate).fills
        assert (fill.forward_quantity, fill.fee) == (qty, fee)
    # fee does not change get_remaining accounting
    m = order("m", 1, A, 5000, B, 5000)
    t = order("t", 2, B, 2500, A, 2500, source="bob")
    result = match_orders([m, t], Fraction(1, 400))
    assert result.fills == (Fill("m", "t", A, 2500, B, 2500, 6),)
    assert result.outcomes["m"] == OrderOutcome("m", 2500, 2500, False, 0)
    assert result.outcomes["t"] == OrderOutcome("t", 0, 0, True, 0)


def test_same_tx_index_breaks_ties_by_hash():
    m1 = order("bb", 7, A, 10, B, 10, source="s1")
    m2 = order("aa", 7, A, 10, B, 10, source="s2")
    t = order("zz", 8, B, 10, A, 10, source="bob")
    assert match_orders([m1, m2, t]).fills == (Fill("aa", "zz", A, 10, B, 10, 0),)
    # and the arrival order itself uses the hash: "aa" arrives before "bb"
    x = order("bb", 7, B, 10, A, 10, source="s1")
    assert match_orders([x, m2]).fills == (Fill("aa", "bb", A, 10, B, 10, 0),)


def test_huge_quantities_near_equal_prices_are_fast():
    m = order("m", 1, A, 10**30 + 7, B, 10**30 - 3)
    t = order("t", 2, B, 10**30 - 2, A, 10**30 + 1, source="bob")
    (fill,) = match_orders([m, t]).fills
    assert fill.backward_quantity * m.give_quantity >= fill.forward_quantity * m.get_quantity
    assert fill.backward_quantity * t.get_quantity <= fill.forward_quantity * t.give_quantity


def test_empty_input():
    assert match_orders([]) == MatchResult((), {})


def test_validation():
    ok = order("a", 1, A, 10, B, 10)
    with pytest.raises(ValueError, match="market"):
        match_orders([ok, order("b", 2, A, 10, "CCC", 10)])
    with pytest.raises(ValueError, match="duplicate"):
        match_orders([ok, order("a", 2, B, 10, A, 10)])
    with pytest.raises(ValueError):
        match_orders([order("c", 1, A, 0, B, 10)])
    with pytest.raises(ValueError):
        match_orders([order("c", 1, A, 10, B, -1)])
    with pytest.raises(ValueError):
        match_orders([order("c", 1, A, 10, B, 10, give_remaining=-1)])
    with pytest.raises(ValueError):
        match_orders([order("c", 1, A, 10, B, 10, give_remaining=11)])
    with pytest.raises(ValueError):
        match_orders([order("c", 1, A, 10, A, 10)])
    with pytest.raises(ValueError):
        match_orders([ok], Fraction(-1, 10))
    with pytest.raises(TypeError):
        match_orders([ok], 0.01)
