"""Tests for the pure matching engine (chalicelib.ledger.matching)."""

from __future__ import annotations

import math
import random
from collections import defaultdict
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
    close_reason,
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
    cap: str = "give",
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
        cap=cap,
    )


# --------------------------------------------------------------------------- reference matcher
# Deliberately naive: plain lists, a linear scan for the best maker each time,
# Fractions, and the literal "decrement forward by one until every rule holds".


class TooManySteps(Exception):
    pass


def ref_fill(tx0: BookOrder, s0: list[int], tx1: BookOrder, s1: list[int], max_steps: int = 20_000) -> tuple[int, int]:
    """(forward, backward) of tx1 taking from tx0, each in state [give_remaining, get_remaining]."""
    p0 = Fraction(tx0.get_quantity, tx0.give_quantity)  # the maker's price: each fill is at it
    forward = min(s0[0], math.floor(Fraction(s1[0]) / p0))
    if tx1.cap == "get":
        forward = min(forward, s1[1])

    def ok(f: int) -> bool:
        b = math.ceil(f * p0)  # the maker never receives less than its price
        return (
            b <= s1[0]  # the taker cannot pay more than it has
            and b * tx1.get_quantity <= f * tx1.give_quantity  # nor above its own limit
            and (tx0.cap != "get" or b <= s0[1])  # a get-capped maker never receives past its cap
        )

    steps = 0
    while forward > 0 and not ok(forward):
        forward -= 1
        steps += 1
        if steps > max_steps:
            raise TooManySteps
    if forward <= 0:
        return 0, 0
    return forward, math.ceil(forward * p0)


def ref_reason(o: BookOrder, give_rem: int, get_rem: int) -> str | None:
    if give_rem == 0 or (get_rem <= 0 and o.cap != "give_all"):  # give_all is done only when all is given
        return "filled"
    if o.cap == "get":  # what it still wants would cost less than one unit of its give side
        return "dust" if math.floor(Fraction(get_rem * o.give_quantity, o.get_quantity)) == 0 else None
    return "dust" if math.floor(Fraction(give_rem * o.get_quantity, o.give_quantity)) == 0 else None


def ref_eligible(x: BookOrder, y: BookOrder) -> bool:
    return (x.taker is None or x.taker == y.source) and (y.taker is None or y.taker == x.source)


def ref_match(orders: list[BookOrder], fee_rate: Fraction = Fraction(0), excluded=frozenset()) -> MatchResult:
    state = {o.tx_hash: [o.give_remaining, o.get_remaining] for o in orders}
    changed: set[str] = set()
    reason: dict[str, str] = {}
    resting: list[BookOrder] = []
    fills = []
    for tx1 in sorted(orders, key=lambda o: (o.tx_index, o.tx_hash)):
        s1 = state[tx1.tx_hash]
        r = ref_reason(tx1, *s1)
        if r:
            reason[tx1.tx_hash] = r
            changed.add(tx1.tx_hash)
            continue
        tried: set[str] = set()
        while tx1.tx_hash not in reason:
            candidates = [
                o
                for o in resting
                if o.tx_hash not in reason
                and o.tx_hash not in tried
                and o.give_asset == tx1.get_asset
                and ref_eligible(o, tx1)
                and frozenset((o.tx_hash, tx1.tx_hash)) not in excluded
                and Fraction(o.get_quantity, o.give_quantity) <= Fraction(tx1.give_quantity, tx1.get_quantity)
            ]
            if not candidates:
                break
            tx0 = min(candidates, key=lambda o: (order_price(o), o.tx_index, o.tx_hash))
            tried.add(tx0.tx_hash)
            s0 = state[tx0.tx_hash]
            forward, backward = ref_fill(tx0, s0, tx1, s1)
            if forward == 0:
                continue
            if tx0.source == tx1.source:  # self-trade: the resting order is cancelled instead
                reason[tx0.tx_hash] = "self_trade"
                changed.add(tx0.tx_hash)
                continue
            fee = math.ceil(forward * fee_rate)
            fills.append(Fill(tx0.tx_hash, tx1.tx_hash, tx0.give_asset, forward, tx1.give_asset, backward, fee))
            s0[0] -= forward
            s0[1] -= backward
            s1[0] -= backward
            s1[1] -= forward
            changed.update((tx0.tx_hash, tx1.tx_hash))
            for o, s in ((tx0, s0), (tx1, s1)):
                r = ref_reason(o, *s)
                if r:
                    reason[o.tx_hash] = r
        if tx1.tx_hash not in reason:
            resting.append(tx1)
    outcomes = {}
    for h in changed:
        g, r = state[h]
        outcomes[h] = OrderOutcome(h, g, r, h in reason, g if h in reason else 0, reason.get(h))
    return MatchResult(tuple(fills), outcomes)


# --------------------------------------------------------------------------- strategies


def _quantity(draw, big: bool) -> int:
    return draw(st.integers(1, 10**30 if big else draw(st.sampled_from([30, 10**6]))))


@st.composite
def order_flows(draw, max_orders: int = 10):
    n = draw(st.integers(0, max_orders))
    # A market price for A in units of B, with orders spread around it so that many cross.
    mid = Fraction(draw(st.integers(1, 1000)), draw(st.integers(1, 1000)))
    hex4 = st.text("0123456789abcdef", min_size=4, max_size=4)
    hashes = draw(st.lists(hex4, min_size=n, max_size=n, unique=True))
    sources = ["alice", "bob", "carol"]
    caps = draw(st.sampled_from([("give",), ("give", "get"), ("give", "get", "give_all"), ("get", "give_all"),
                                 ("get", "get", "get", "give")]))
    orders = []
    for i in range(n):
        sells_a = draw(st.booleans())
        big = draw(st.integers(0, 4)) == 0
        give_q = _quantity(draw, big)
        if draw(st.integers(0, 5)) == 0:
            get_q = _quantity(draw, draw(st.booleans()))  # arbitrary price
        else:
            spread = Fraction(draw(st.integers(-300, 300)), draw(st.sampled_from([1000, 100_000])))
            price = (mid if sells_a else 1 / mid) * (1 + spread)  # get per give
            get_q = max(1, round(give_q * price))
        cap = draw(st.sampled_from(caps))
        give_rem, get_rem = give_q, get_q
        shape = draw(st.integers(0, 9))
        if shape == 0 and cap != "get":  # partly filled earlier, consistent remainders
            give_rem = draw(st.integers(0, give_q))
            get_rem = get_q - (give_q - give_rem) * get_q // give_q
        elif shape == 0:  # a get-capped order partly filled earlier: it kept at least its price's worth
            get_rem = draw(st.integers(0, get_q))
            give_rem = draw(st.integers(-(-get_rem * give_q // get_q), give_q))
        elif shape == 1:  # tiny remainder: likely dust
            give_rem = draw(st.integers(0, min(give_q, 3)))
            get_rem = draw(st.integers(-2, get_q))
        elif shape == 2:  # tiny get remainder: likely dust for a get-capped order
            get_rem = draw(st.integers(0, min(get_q, 3)))
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
                cap=cap,
            )
        )
    return orders


@st.composite
def flows_with_exclusions(draw):
    orders = draw(order_flows())
    hashes = [o.tx_hash for o in orders]
    excluded = frozenset()
    if len(hashes) >= 2 and draw(st.booleans()):
        pairs = draw(st.lists(st.lists(st.sampled_from(hashes), min_size=2, max_size=2, unique=True), max_size=4))
        excluded = frozenset(frozenset(p) for p in pairs)
    return orders, excluded


fee_rates = st.sampled_from([Fraction(0), Fraction(1, 1000), Fraction(1, 400), Fraction(3, 7), Fraction(1)])


def ref_or_reject(orders, rate, excluded=frozenset()):
    try:
        return ref_match(orders, rate, excluded)
    except TooManySteps:  # the naive reference is O(quantity) in rare near-equal-price cases
        assume(False)


# --------------------------------------------------------------------------- properties


def check_invariants(orders: list[BookOrder], rate: Fraction, excluded, result: MatchResult) -> None:
    by_hash = {o.tx_hash: o for o in orders}
    rank = {o.tx_hash: (o.tx_index, o.tx_hash) for o in orders}
    gave: dict[str, int] = defaultdict(int)  # per order, in its give asset
    got: dict[str, int] = defaultdict(int)  # per order, in its get asset, before fees
    fees: dict[str, int] = defaultdict(int)  # per asset
    for f in result.fills:
        tx0, tx1 = by_hash[f.tx0_hash], by_hash[f.tx1_hash]
        assert rank[f.tx0_hash] < rank[f.tx1_hash]  # makers arrived earlier
        assert f.forward_asset == tx0.give_asset and f.backward_asset == tx1.give_asset
        assert f.forward_quantity > 0 and f.backward_quantity > 0
        # maker gets at least its price; taker pays at most its limit
        assert f.backward_quantity * tx0.give_quantity >= f.forward_quantity * tx0.get_quantity
        assert f.backward_quantity * tx1.get_quantity <= f.forward_quantity * tx1.give_quantity
        # the fee is rounded up per fill and never exceeds what it is taken from
        assert f.fee == -(-f.forward_quantity * rate.numerator // rate.denominator)
        assert 0 <= f.fee <= f.forward_quantity
        assert tx0.taker in (None, tx1.source) and tx1.taker in (None, tx0.source)
        assert frozenset((tx0.tx_hash, tx1.tx_hash)) not in excluded
        assert tx0.source != tx1.source  # no self-trade ever fills
        gave[tx0.tx_hash] += f.forward_quantity
        got[tx1.tx_hash] += f.forward_quantity
        gave[tx1.tx_hash] += f.backward_quantity
        got[tx0.tx_hash] += f.backward_quantity
        fees[f.forward_asset] += f.fee

    final = {o.tx_hash: (o.give_remaining, o.get_remaining, False) for o in orders}
    for h, out in result.outcomes.items():
        o = by_hash[h]
        assert out.tx_hash == h
        assert out.refund == (out.give_remaining if out.closed else 0)  # a closed order refunds its remainder
        assert (out.reason is None) == (not out.closed)
        assert out.reason in (None, "filled", "dust", "self_trade")
        if out.reason in ("filled", "dust"):
            assert close_reason(o.cap, out.give_remaining, out.get_remaining, o.give_quantity,
                                o.get_quantity) == out.reason
        if out.reason == "self_trade":  # cancelled as a resting order, for a later order of its owner
            assert any(p.source == o.source and rank[p.tx_hash] > rank[h] for p in orders)
        final[h] = (out.give_remaining, out.get_remaining, out.closed)
    for o in orders:
        give_rem, get_rem, _ = final[o.tx_hash]
        # the state moved exactly by the fills
        assert give_rem == o.give_remaining - gave[o.tx_hash]
        assert get_rem == o.get_remaining - got[o.tx_hash]
        # never exceed a cap: nothing gives more than it has; a get-capped order never receives more
        # than it still wanted
        assert give_rem >= 0
        if o.cap == "get":
            assert got[o.tx_hash] <= max(o.get_remaining, 0)
        # never pay above its limit, over all its fills together
        assert gave[o.tx_hash] * o.get_quantity <= got[o.tx_hash] * o.give_quantity
        if o.tx_hash not in result.outcomes:
            assert close_reason(o.cap, o.give_remaining, o.get_remaining, o.give_quantity, o.get_quantity) is None

    # conservation per asset: locked = still locked + refunded + moved, and moved = received + fees
    for asset in (A, B):
        givers = [o.tx_hash for o in orders if o.give_asset == asset]
        locked = sum(by_hash[h].give_remaining for h in givers)
        still_open = sum(final[h][0] for h in givers if not final[h][2])
        refunded = sum(result.outcomes[h].refund for h in givers if h in result.outcomes)
        moved = sum(gave[h] for h in givers)
        assert locked == still_open + refunded + moved
        receivers = [o for o in orders if o.get_asset == asset]
        taker_fees = sum(f.fee for f in result.fills if f.forward_asset == asset)
        assert moved == sum(got[o.tx_hash] for o in receivers) and taker_fees == fees[asset]

    # the book left behind is uncrossed: an eligible pair that still crosses on
    # price can no longer trade even one unit (integer granularity), i.e. the
    # later order would get a zero fill against the earlier one.
    open_orders = sorted((o for o in orders if not final[o.tx_hash][2]), key=lambda o: rank[o.tx_hash])
    for i, x in enumerate(open_orders):
        for y in open_orders[i + 1 :]:
            if crosses(x, y) and ref_eligible(x, y) and frozenset((x.tx_hash, y.tx_hash)) not in excluded:
                sx, sy = list(final[x.tx_hash][:2]), list(final[y.tx_hash][:2])
                assert ref_fill(x, sx, y, sy) == (0, 0)


@FAST
@given(flows_with_exclusions(), fee_rates)
def test_matches_reference_and_invariants(flow, rate):
    orders, excluded = flow
    result = match_orders(orders, rate, excluded)
    expected = ref_or_reject(orders, rate, excluded)
    assert result.fills == expected.fills
    assert result.outcomes == expected.outcomes
    check_invariants(orders, rate, excluded, result)

    # independent of input iteration order
    shuffled = list(orders)
    random.Random(len(orders)).shuffle(shuffled)
    assert match_orders(shuffled, rate, excluded) == result
    assert match_orders(reversed(orders), rate, excluded) == result


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


@st.composite
def limit_order_flows(draw):
    """Exchange-style limit orders: (is_buy, price in ticks, amount in lots), as CoinBTR places them."""
    n = draw(st.integers(1, 40))
    return [(draw(st.booleans()), draw(st.integers(95, 105)), draw(st.integers(1, 50)), draw(st.integers(0, 3)))
            for _ in range(n)]


LOT, TICK = 10**8, 10**6  # 1 lot = 10**8 base units; 1 tick = 10**6 quote units per lot


def limit_book(flow) -> list[BookOrder]:
    orders = []
    for i, (is_buy, ticks, lots, who) in enumerate(flow):
        base, quote = lots * LOT, lots * ticks * TICK
        if is_buy:
            orders.append(order(f"{i:04d}", i, B, quote, A, base, source=f"s{who}", cap="get"))
        else:
            orders.append(order(f"{i:04d}", i, A, base, B, quote, source=f"s{who}", cap="give_all"))
    return orders


def textbook_book(flow):
    """A textbook price-time limit order book with cancel-resting self-trade prevention."""
    bids, asks, trades = [], [], []  # resting [ticks, index, lots, who]
    for i, (is_buy, ticks, lots, who) in enumerate(flow):
        book = asks if is_buy else bids
        while lots:
            crossing = [r for r in book if (r[0] <= ticks if is_buy else r[0] >= ticks)]
            if not crossing:
                break
            best = min(crossing, key=lambda r: (r[0] if is_buy else -r[0], r[1]))
            if best[3] == who:
                book.remove(best)
                continue
            qty = min(lots, best[2])
            trades.append((best[1], i, qty, best[0]))
            lots -= qty
            best[2] -= qty
            if not best[2]:
                book.remove(best)
        if lots:
            (bids if is_buy else asks).append([ticks, i, lots, who])
    return trades


@settings(max_examples=200, deadline=None)
@given(limit_order_flows())
def test_get_capped_buys_make_a_textbook_limit_order_book(flow):
    """Buys capped by what they get and sells by all they give (CoinBTR's base amounts) fill exactly
    like an exchange's book: quantity min(remaining), at the resting price, a buy's price improvement
    refunded, a sell selling its whole amount while bids at or above its price remain."""
    orders = limit_book(flow)
    result = match_orders(orders)
    expected = [(f"{m:04d}", f"{t:04d}", lots * LOT, lots * ticks * TICK) for m, t, lots, ticks in textbook_book(flow)]
    got = [(f.tx0_hash, f.tx1_hash, f.forward_quantity if f.forward_asset == A else f.backward_quantity,
            f.backward_quantity if f.forward_asset == A else f.forward_quantity) for f in result.fills]
    assert got == expected
    check_invariants(orders, Fraction(0), frozenset(), result)
    for o in orders:
        out = result.outcomes.get(o.tx_hash)
        if o.cap == "get" and out is not None and out.reason == "filled":
            # a filled buy received exactly its amount, and got back exactly what it did not spend
            spent = sum(f.backward_quantity for f in result.fills if f.tx1_hash == o.tx_hash) + sum(
                f.forward_quantity for f in result.fills if f.tx0_hash == o.tx_hash)
            assert out.get_remaining == 0 and out.refund == o.give_quantity - spent


@settings(max_examples=400, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(1, 60),
    st.integers(1, 60),
    st.integers(1, 60),
    st.integers(0, 300),
)
def test_max_valid_forward_matches_brute_force(n0, d0, n1, d1, limit):
    (an, ad), (cn, cd) = sorted(((n0, d0), (n1, d1)), key=lambda p: Fraction(*p))
    a, c = Fraction(an, ad), Fraction(cn, cd)
    brute = next((f for f in range(limit, 0, -1) if math.ceil(f * a) <= f * c), 0)
    assert _max_valid_forward(limit, an, ad, cn, cd) == brute


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**38), st.integers(1, 10**38), st.integers(1, 10**40), st.integers(1, 10**38))
def test_max_valid_forward_large_is_valid_and_maximal_nearby(num, den, gap_den, limit):
    a = Fraction(num, den)
    c = a + Fraction(1, gap_den)
    f = _max_valid_forward(limit, num, den, c.numerator, c.denominator)
    assert 0 <= f <= limit
    if f:
        assert math.ceil(f * a) <= f * c
    for g in range(f + 1, min(limit, f + 200) + 1):  # nothing valid just above
        assert math.ceil(g * a) > g * c


def test_max_valid_forward_refuses_bad_bounds():
    with pytest.raises(ValueError):
        _max_valid_forward(10, 2, 1, 1, 1)  # a > c
    with pytest.raises(ValueError):
        _max_valid_forward(10, 0, 1, 1, 1)  # a = 0


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
        "tx0": OrderOutcome("tx0", 0, 0, True, 0, "filled"),
        # got everything it wanted; the 0.002 BTC it did not need is refunded
        "tx1": OrderOutcome("tx1", 200_000, 0, True, 200_000, "filled"),
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
        "t": OrderOutcome("t", 0, 0, True, 0, "filled"),
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
    assert result.outcomes["t"] == OrderOutcome("t", 300, 0, True, 300, "filled")
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
    assert result.outcomes["m"] == OrderOutcome("m", 1, 0, True, 1, "filled")


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
    # it got the 3 B it asked for: filled (the 1 A left would be dust too), refunded
    assert result.outcomes["m"] == OrderOutcome("m", 1, 0, True, 1, "filled")


def test_dust_only_close():
    # 3 A left of an order asking 1 B per 10 A: it can never receive a unit
    m = order("m", 1, A, 100, B, 10, give_remaining=3, get_remaining=1)
    assert is_dust(3, 100, 10)
    t = order("t", 2, B, 5, A, 100, source="bob")
    result = match_orders([m, t])
    assert result.fills == ()
    assert result.outcomes == {"m": OrderOutcome("m", 3, 1, True, 3, "dust")}


def test_incoming_dust_order_closes_without_fills():
    m = order("m", 1, A, 100, B, 100)
    dust = order("d", 2, B, 10, A, 3, give_remaining=3, get_remaining=1, source="bob")  # 3 * 3/10 < 1
    result = match_orders([m, dust])
    assert result.fills == ()
    assert result.outcomes == {"d": OrderOutcome("d", 3, 1, True, 3, "dust")}


def test_entering_orders_already_done_are_closed():
    done = order("x", 1, A, 10, B, 10, give_remaining=4, get_remaining=0)
    empty = order("y", 2, A, 10, B, 10, give_remaining=0, get_remaining=5)
    result = match_orders([done, empty])
    assert result.outcomes == {
        "x": OrderOutcome("x", 4, 0, True, 4, "filled"),
        "y": OrderOutcome("y", 0, 5, True, 0, "filled"),
    }


def test_rounding_lowers_forward_to_the_largest_amount_within_the_taker_limit():
    # The maker sells at 0.7 B per A and has 13 A left; the taker pays up to 0.72. Rounding the
    # maker's side up, 13, 12 and 11 A would cost 10, 9 and 8 B: above 0.72 per A. 10 A cost exactly 7.
    m = order("m", 1, A, 20, B, 14, give_remaining=13, get_remaining=10)
    t = order("t", 2, B, 18, A, 25, source="bob")
    result = match_orders([m, t])
    assert result.fills == (Fill("m", "t", A, 10, B, 7, 0),)
    assert result.outcomes["t"] == OrderOutcome("t", 11, 15, False, 0, None)
    # with 9 A left: 9 and 8 A would cost 7 and 6 B, above the limit; 7 A cost 5 B <= 5.04
    assert match_orders([replace(m, give_remaining=9, get_remaining=7), t]).fills == (Fill("m", "t", A, 7, B, 5, 0),)
    # with 3 A left nothing fits (3, 2, 1 A would cost 3, 2, 1 B): no fill, both stay open
    m3 = replace(m, give_remaining=3, get_remaining=2)
    assert not is_dust(3, 20, 14) and match_orders([m3, t]) == MatchResult((), {})


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


def test_fee_rounds_up_per_fill():
    rate = Fraction(1, 1000)
    for qty, fee in ((1, 1), (999, 1), (1000, 1), (1001, 2), (1999, 2), (2999, 3), (10**30, 10**27)):
        m = order("m", 1, A, qty, B, qty)
        t = order("t", 2, B, qty, A, qty, source="bob")
        (fill,) = match_orders([m, t], rate).fills
        assert (fill.forward_quantity, fill.fee) == (qty, fee)
    # fee does not change get_remaining accounting
    m = order("m", 1, A, 5000, B, 5000)
    t = order("t", 2, B, 2500, A, 2500, source="bob")
    result = match_orders([m, t], Fraction(1, 400))
    assert result.fills == (Fill("m", "t", A, 2500, B, 2500, 7),)
    assert result.outcomes["m"] == OrderOutcome("m", 2500, 2500, False, 0)
    assert result.outcomes["t"] == OrderOutcome("t", 0, 0, True, 0, "filled")


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
    with pytest.raises(ValueError, match="cap"):
        match_orders([order("c", 1, A, 10, B, 10, cap="base")])
    with pytest.raises(TypeError):
        match_orders([ok, "not an order"])
    with pytest.raises(TypeError, match="give_quantity"):
        match_orders([ok, order("c", 2, B, 1.5, A, 10)])


# --------------------------------------------------------------------------- caps

UNIT = 10**8  # 8 decimals on both assets
BASE, QUOTE = "BASE", "QUOTE"


def test_get_capped_buy_takes_exactly_its_amount_at_the_resting_price():
    """The acceptance flow: alice sells 4 at 0.5, bob buys 3 at 0.6 (CoinBTR: a buy is capped by its amount)."""
    sell = order("sell", 1, BASE, 4 * UNIT, QUOTE, 2 * UNIT, source="alice")
    buy = order("buy", 2, QUOTE, 18 * UNIT // 10, BASE, 3 * UNIT, source="bob", cap="get")
    result = match_orders([sell, buy])
    assert result.fills == (Fill("sell", "buy", BASE, 3 * UNIT, QUOTE, 15 * UNIT // 10, 0),)
    assert result.outcomes == {
        # bob got exactly 3 and the unspent 0.3 quote comes back
        "buy": OrderOutcome("buy", 3 * UNIT // 10, 0, True, 3 * UNIT // 10, "filled"),
        "sell": OrderOutcome("sell", 1 * UNIT, UNIT // 2, False, 0, None),
    }


def test_give_capped_buy_keeps_counterpartys_rule():
    """The same flow with Counterparty-style orders: the buy is sized by what it locked and gets 3.6."""
    sell = order("sell", 1, BASE, 4 * UNIT, QUOTE, 2 * UNIT, source="alice")
    buy = order("buy", 2, QUOTE, 18 * UNIT // 10, BASE, 3 * UNIT, source="bob")
    result = match_orders([sell, buy])
    assert result.fills == (Fill("sell", "buy", BASE, 36 * UNIT // 10, QUOTE, 18 * UNIT // 10, 0),)
    assert result.outcomes == {
        "buy": OrderOutcome("buy", 0, -6 * UNIT // 10, True, 0, "filled"),
        "sell": OrderOutcome("sell", 4 * UNIT // 10, 2 * UNIT // 10, False, 0, None),
    }


def test_get_capped_buy_as_maker_fills_at_its_own_price():
    buy = order("buy", 1, QUOTE, 18 * UNIT // 10, BASE, 3 * UNIT, source="bob", cap="get")  # 3 at 0.6
    sell = order("sell", 2, BASE, 4 * UNIT, QUOTE, 2 * UNIT, source="alice")  # 4 at 0.5, arrives later
    result = match_orders([buy, sell])
    # the resting buy's price: 3 base for 1.8 quote; it never receives more than 3
    assert result.fills == (Fill("buy", "sell", QUOTE, 18 * UNIT // 10, BASE, 3 * UNIT, 0),)
    assert result.outcomes == {
        "buy": OrderOutcome("buy", 0, 0, True, 0, "filled"),
        "sell": OrderOutcome("sell", 1 * UNIT, 2 * UNIT // 10, False, 0, None),
    }


def test_get_capped_buy_walks_levels_and_rests_with_its_price_improvement():
    s1 = order("s1", 1, BASE, 1 * UNIT, QUOTE, UNIT // 2, source="alice")  # 1 at 0.5
    s2 = order("s2", 2, BASE, 1 * UNIT, QUOTE, 55 * UNIT // 100, source="carol")  # 1 at 0.55
    buy = order("buy", 3, QUOTE, 18 * UNIT // 10, BASE, 3 * UNIT, source="bob", cap="get")  # 3 at 0.6
    result = match_orders([s1, s2, buy])
    assert [f.forward_quantity for f in result.fills] == [UNIT, UNIT]
    assert [f.backward_quantity for f in result.fills] == [UNIT // 2, 55 * UNIT // 100]
    # 1 still wanted; 0.75 quote left: 0.6 for the last unit at its limit, 0.15 of improvement kept locked
    assert result.outcomes["buy"] == OrderOutcome("buy", 75 * UNIT // 100, UNIT, False, 0, None)
    s3 = order("s3", 4, BASE, 5 * UNIT, QUOTE, 3 * UNIT, source="dave")  # 5 at 0.6
    result = match_orders([s1, s2, buy, s3])
    assert result.fills[-1] == Fill("buy", "s3", QUOTE, 6 * UNIT // 10, BASE, UNIT, 0)
    assert result.outcomes["buy"] == OrderOutcome("buy", 15 * UNIT // 100, 0, True, 15 * UNIT // 100, "filled")


def test_two_get_capped_orders_trade():
    # Both sides capped by what they get: the maker's get cap and the taker's both bound the fill.
    x = order("x", 1, A, 100, B, 50, cap="get", source="s1")  # wants 50 B, pays up to 2 A per B
    y = order("y", 2, B, 80, A, 60, cap="get", source="s2")  # wants 60 A, pays up to 4/3 B per A
    result = match_orders([x, y])
    (fill,) = result.fills
    # x's price is 1/2 B per A: y takes 60 A for 30 B (y's cap); x receives 30 of its 50
    assert fill == Fill("x", "y", A, 60, B, 30, 0)
    assert result.outcomes["y"] == OrderOutcome("y", 50, 0, True, 50, "filled")
    assert result.outcomes["x"] == OrderOutcome("x", 40, 20, False, 0, None)


def test_get_capped_rounding_never_overpays_and_closes_as_dust():
    # A buy of 7 units at 1/3 quote per unit, against a sell at 1/4: every fill's quote is rounded up for
    # the maker, and the buy never pays above 1/3 per unit nor receives more than 7.
    sell = order("s", 1, A, 100, B, 25, source="alice")  # 0.25 B per A
    buy = order("b", 2, B, 2, A, 7, cap="get", source="bob")  # up to 2 B for 7 A
    result = match_orders([sell, buy])
    (fill,) = result.fills
    # 7 A would cost ceil(1.75) = 2 B <= 7/3.5: allowed, at most 7
    assert fill == Fill("s", "b", A, 7, B, 2, 0)
    assert result.outcomes["b"] == OrderOutcome("b", 0, 0, True, 0, "filled")
    # A get-capped order whose remaining 1 unit costs less than one unit of its give side is dust.
    assert close_reason("get", 5, 1, 1, 3) == "dust"  # 1 A at 1/3 B each
    assert close_reason("get", 5, 3, 1, 3) is None
    assert close_reason("give", 5, 1, 1, 3) is None  # give-capped: 5 B still buy 15 A
    left = order("l", 3, B, 1, A, 3, give_remaining=1, get_remaining=1, cap="get", source="carol")
    assert match_orders([sell, left]).outcomes == {"l": OrderOutcome("l", 1, 1, True, 1, "dust")}


def test_get_capped_taker_cap_binds_even_with_more_funds():
    m = order("m", 1, A, 1000, B, 1000, source="alice")  # 1 B per A
    t = order("t", 2, B, 500, A, 100, cap="get", source="bob")  # 100 A at up to 5 B each
    result = match_orders([m, t])
    assert result.fills == (Fill("m", "t", A, 100, B, 100, 0),)
    assert result.outcomes["t"] == OrderOutcome("t", 400, 0, True, 400, "filled")


# --------------------------------------------------------------------------- self-trade, fees


def test_self_trade_cancels_the_resting_order_and_goes_on():
    own = order("own", 1, A, 10, B, 10, source="bob")  # best price, bob's own
    other = order("oth", 2, A, 10, B, 12, source="alice")
    buy = order("buy", 3, B, 24, A, 10, source="bob")
    result = match_orders([own, other, buy])
    assert result.fills == (Fill("oth", "buy", A, 10, B, 12, 0),)
    assert result.outcomes["own"] == OrderOutcome("own", 10, 10, True, 10, "self_trade")
    assert result.outcomes["buy"] == OrderOutcome("buy", 12, 0, True, 12, "filled")
    assert result.outcomes["oth"] == OrderOutcome("oth", 0, 0, True, 0, "filled")


def test_self_trade_only_where_a_fill_would_happen():
    own = order("own", 1, A, 10, B, 30, source="bob")  # 3 B per A: does not cross the buy
    taken = order("tkn", 2, A, 10, B, 10, source="bob", taker="carol")  # bob's, but only carol may take it
    buy = order("buy", 3, B, 20, A, 10, source="bob")
    assert match_orders([own, taken, buy]) == MatchResult((), {})
    # an excluded pair is not a trade either
    again = order("own2", 1, A, 10, B, 10, source="bob")
    assert match_orders([again, buy], excluded_pairs=frozenset({frozenset(("own2", "buy"))})) == MatchResult((), {})
    assert match_orders([again, buy]).outcomes["own2"].reason == "self_trade"


def test_self_trade_after_a_partial_fill_refunds_the_rest():
    maker = order("m", 1, A, 10, B, 10, source="bob")
    carol = order("c", 2, B, 4, A, 4, source="carol")
    bob = order("b", 3, B, 10, A, 10, source="bob")
    result = match_orders([maker, carol, bob])
    assert result.fills == (Fill("m", "c", A, 4, B, 4, 0),)
    assert result.outcomes["m"] == OrderOutcome("m", 6, 6, True, 6, "self_trade")
    assert "b" not in result.outcomes  # bob's buy found nothing else and rests unchanged


def test_fees_cannot_be_dodged_by_splitting():
    rate = Fraction(1, 1000)
    m = order("m", 1, A, 10_000, B, 10_000, source="alice")
    whole = match_orders([m, order("t", 2, B, 10_000, A, 10_000, source="bob")], rate)
    split = match_orders([m] + [order(f"t{i:02d}", 2 + i, B, 100, A, 100, source="bob") for i in range(100)], rate)
    assert sum(f.forward_quantity for f in split.fills) == 10_000
    assert sum(f.fee for f in whole.fills) == 10
    assert sum(f.fee for f in split.fills) == 100 >= 10  # each of the 100 fills pays ceil(0.1) = 1
    # and never above what the fee is taken from
    (fill,) = match_orders([m, order("t", 2, B, 3, A, 3, source="bob")], Fraction(1)).fills
    assert fill.fee == fill.forward_quantity == 3


def test_give_all_sell_sells_its_whole_amount_across_better_bids():
    bids = [order(f"b{i}", i, B, 120 * UNIT, A, 1 * UNIT, source=f"buyer{i}", cap="get") for i in range(3)]  # 1 at 120
    # Sell 3 at 100, walking three bids at 120.
    sell = order("s", 9, A, 3 * UNIT, B, 300 * UNIT, source="alice", cap="give_all")
    result = match_orders([*bids, sell])
    assert [f.forward_quantity for f in result.fills] == [120 * UNIT] * 3
    assert result.outcomes["s"] == OrderOutcome("s", 0, -60 * UNIT, True, 0, "filled")
    # Counterparty's rule ("give"): once it has received the 300 it asked for, it is done, and its
    # third unit is refunded unsold.
    counterparty = replace(sell, cap="give")
    result = match_orders([*bids, counterparty])
    assert [f.forward_quantity for f in result.fills] == [120 * UNIT] * 3
    bids2 = [order(f"b{i}", i, B, 160 * UNIT, A, 1 * UNIT, source=f"buyer{i}", cap="get") for i in range(3)]
    result = match_orders([*bids2, counterparty])
    assert len(result.fills) == 2  # 2 x 160 >= 300: filled with one unit left
    assert result.outcomes["s"] == OrderOutcome("s", UNIT, -20 * UNIT, True, UNIT, "filled")
    result = match_orders([*bids2, sell])
    assert len(result.fills) == 3
    assert result.outcomes["s"] == OrderOutcome("s", 0, -180 * UNIT, True, 0, "filled")
    assert close_reason("give_all", 5, -1, 10, 10) is None
    assert close_reason("give", 5, -1, 10, 10) == "filled"
    assert close_reason("give_all", 0, 3, 10, 10) == "filled"
