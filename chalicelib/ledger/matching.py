"""Pure order-matching engine: Counterparty-style price-time priority.

No I/O and no AWS: callers load the open orders of one market, call
:func:`match_orders`, and persist the returned fills and order outcomes.

Conventions
-----------
* Every order *gives* ``give_quantity`` of ``give_asset`` and *gets*
  ``get_quantity`` of ``get_asset`` (integers in base units).  Its price is
  ``get_quantity / give_quantity``: what it asks per unit it gives.  Both sides
  of a market are expressed this way, so on either side a lower price is better
  for the counterparty and is matched first.
* Orders are replayed in arrival order ``(tx_index, tx_hash)``.  Each incoming
  order (``tx1``, the taker) trades against earlier resting orders (``tx0``,
  the makers) of the opposite side, best price first, then earliest, at the
  maker's price, for as long as the prices cross.  Whatever is left rests.
* Quantities of one fill (``p0`` = maker price)::

      forward  = largest f <= min(tx0.give_remaining, floor(tx1.give_remaining / p0))
                 such that ceil(f * p0) * tx1.get_quantity <= f * tx1.give_quantity
      backward = ceil(forward * p0)

  ``forward`` goes from tx0 to tx1 (in tx0.give_asset) and ``backward`` from
  tx1 to tx0.  The ceiling means the maker never receives less than its price;
  the bound on ``forward`` means the taker never pays more than its own limit
  and never more than it has.  This is exactly "decrement forward until both
  hold", computed arithmetically (see :func:`_max_valid_forward`).
* An order is closed when its ``give_remaining`` is 0, its ``get_remaining`` is
  <= 0, or it is dust (its remainder would buy less than one unit at its own
  price).  A closed order's ``give_remaining`` is refunded to its owner.
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "BookOrder",
    "Fill",
    "MatchResult",
    "OrderOutcome",
    "book_sort_key",
    "crosses",
    "is_dust",
    "match_orders",
    "order_price",
]


@dataclass(frozen=True)
class BookOrder:
    tx_hash: str
    tx_index: int
    source: str
    give_asset: str
    give_quantity: int
    give_remaining: int
    get_asset: str
    get_quantity: int
    get_remaining: int
    taker: str | None = None  # if set, only an order from this address may trade with this one


@dataclass(frozen=True)
class Fill:
    tx0_hash: str  # resting order (maker)
    tx1_hash: str  # incoming order (taker)
    forward_asset: str  # from tx0 to tx1
    forward_quantity: int
    backward_asset: str  # from tx1 to tx0
    backward_quantity: int
    fee: int  # taken from forward, in forward_asset, paid by tx1


@dataclass(frozen=True)
class OrderOutcome:
    tx_hash: str
    give_remaining: int  # for a closed order: the amount refunded (== refund)
    get_remaining: int
    closed: bool  # filled or dust: leaves the book
    refund: int  # give_remaining returned to the owner when closed, else 0


@dataclass(frozen=True)
class MatchResult:
    fills: tuple[Fill, ...]  # in execution order
    outcomes: dict[str, OrderOutcome]  # only orders whose state changed


def order_price(o: BookOrder) -> Fraction:
    """What the order asks per unit it gives: ``get_quantity / give_quantity``."""
    return Fraction(o.get_quantity, o.give_quantity)


def crosses(a: BookOrder, b: BookOrder) -> bool:
    """True if ``a`` and ``b`` are on opposite sides of one market and their prices cross."""
    if a.give_asset != b.get_asset or a.get_asset != b.give_asset:
        return False
    return a.get_quantity * b.get_quantity <= a.give_quantity * b.give_quantity


def is_dust(give_remaining: int, give_quantity: int, get_quantity: int) -> bool:
    """True if ``give_remaining`` would buy less than one unit at the order's own price.

    That is ``floor(give_remaining * get_quantity / give_quantity) == 0``; a zero
    remainder is dust too.
    """
    return give_remaining * get_quantity < give_quantity


# --------------------------------------------------------------------------- sort key

_EXP_OFFSET = 1000  # exponent stored as 4 digits: supports 10**-1000 < price < 10**999
_MANTISSA_DIGITS = 40
_INDEX_DIGITS = 20


def _decimal_exponent(num: int, den: int) -> int:
    """floor(log10(num / den)) for positive integers, computed exactly."""
    e = len(str(num)) - len(str(den))
    # 10**(e-1) < num/den < 10**(e+1); decide between e-1 and e exactly.
    if e >= 0:
        below = num < den * 10**e
    else:
        below = num * 10**-e < den
    return e - 1 if below else e


def book_sort_key(price: Fraction, tx_index: int, tx_hash: str) -> str:
    """Fixed-width string key ordering orders of one book side best-first.

    String order equals ``(price, tx_index, tx_hash)`` ascending whenever the
    prices differ within their first 40 significant digits; closer prices may
    produce equal price parts but are never inverted (the matcher sorts exactly
    in memory anyway).  Layout: ``EEEE:MMMM...(40):IIII...(20):tx_hash`` where
    ``EEEE`` is ``floor(log10(price)) + 1000`` and ``M`` the truncated mantissa.
    """
    price = Fraction(price)
    if price <= 0:
        raise ValueError(f"price must be positive, got {price}")
    if isinstance(tx_index, bool) or not isinstance(tx_index, int):
        raise TypeError("tx_index must be an int")
    if not 0 <= tx_index < 10**_INDEX_DIGITS:
        raise ValueError(f"tx_index out of range: {tx_index}")
    if not isinstance(tx_hash, str):
        raise TypeError("tx_hash must be a str")
    num, den = price.numerator, price.denominator
    exp = _decimal_exponent(num, den)
    if not -_EXP_OFFSET < exp < 10**4 - _EXP_OFFSET:
        raise ValueError(f"price out of range: {price}")
    shift = _MANTISSA_DIGITS - 1 - exp
    if shift >= 0:
        mantissa = num * 10**shift // den
    else:
        mantissa = num // (den * 10**-shift)
    assert 10 ** (_MANTISSA_DIGITS - 1) <= mantissa < 10**_MANTISSA_DIGITS
    return f"{exp + _EXP_OFFSET:04d}:{mantissa}:{tx_index:0{_INDEX_DIGITS}d}:{tx_hash}"


# --------------------------------------------------------------------------- fill sizing


def _max_valid_forward(limit: int, a: Fraction, c: Fraction) -> int:
    """Largest ``f`` in ``[0, limit]`` with ``ceil(f * a) <= f * c``; requires ``0 < a <= c``.

    Equivalently: the largest ``f`` such that the interval ``[f*a, f*c]`` holds an
    integer ``b``.  The valid ``f`` are not contiguous, so instead of stepping
    down one unit at a time this runs a continued-fraction style descent:

    * if an integer ``n`` lies in ``[a, c]`` every ``f`` works (``b = n*f``);
    * otherwise subtract ``floor(a)`` from both (which shifts ``b`` by ``f*floor(a)``
      and keeps validity), so that ``0 < a <= c < 1``;
    * any valid ``f <= F`` uses some ``b <= B = floor(F*c)``, and for a fixed
      ``b`` the valid ``f`` are the integers in ``[b/c, b/a]``.  Both ends grow
      with ``b``, so the answer is ``min(F, floor(b'/a))`` where ``b'`` is the
      largest ``b <= B`` whose interval ``[b*(1/c), b*(1/a)]`` holds an integer:
      the same problem with ``(B, 1/c, 1/a)``, and ``B < F``.

    The depth is bounded by the common continued-fraction prefix of ``a`` and
    ``c``, i.e. logarithmic in the quantities.
    """
    if not 0 < a <= c:
        raise ValueError("need 0 < a <= c")
    frames: list[tuple[int, Fraction]] = []
    bound = limit
    while True:
        if bound <= 0:
            result = 0
            break
        n = a.numerator // a.denominator
        if a.denominator == 1 or n + 1 <= c:
            result = bound
            break
        a -= n
        c -= n
        if math.ceil(bound * a) <= bound * c:
            result = bound
            break
        frames.append((bound, a))
        bound, a, c = math.floor(bound * c), 1 / c, 1 / a
    for outer_bound, outer_a in reversed(frames):
        if result == 0:
            break
        result = min(outer_bound, math.floor(result / outer_a))
    return result


def _fill_quantities(
    tx0: BookOrder, tx0_give_remaining: int, tx1: BookOrder, tx1_give_remaining: int
) -> tuple[int, int]:
    """(forward, backward) for taker ``tx1`` against maker ``tx0``; (0, 0) when no fill."""
    g0, G0 = tx0.give_quantity, tx0.get_quantity
    g1, G1 = tx1.give_quantity, tx1.get_quantity
    upper = min(tx0_give_remaining, tx1_give_remaining * g0 // G0)
    if upper <= 0:
        return 0, 0
    forward = _max_valid_forward(upper, Fraction(G0, g0), Fraction(g1, G1))
    backward = -(-forward * G0 // g0)
    if forward <= 0 or backward <= 0:
        return 0, 0
    # Guaranteed by construction; cheap to re-check in a ledger.
    assert backward <= tx1_give_remaining and backward * G1 <= forward * g1
    assert backward * g0 >= forward * G0
    return forward, backward


# --------------------------------------------------------------------------- matching


class _Live:
    __slots__ = ("changed", "closed", "get_remaining", "give_remaining", "key", "order")

    def __init__(self, order: BookOrder) -> None:
        self.order = order
        self.give_remaining = order.give_remaining
        self.get_remaining = order.get_remaining
        self.closed = False
        self.changed = False
        self.key = (order_price(order), order.tx_index, order.tx_hash)

    def should_close(self) -> bool:
        o = self.order
        return (
            self.give_remaining == 0
            or self.get_remaining <= 0
            or is_dust(self.give_remaining, o.give_quantity, o.get_quantity)
        )

    def outcome(self) -> OrderOutcome:
        return OrderOutcome(
            tx_hash=self.order.tx_hash,
            give_remaining=self.give_remaining,
            get_remaining=self.get_remaining,
            closed=self.closed,
            refund=self.give_remaining if self.closed else 0,
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(orders: list[BookOrder]) -> None:
    market: frozenset[str] | None = None
    seen: set[str] = set()
    for o in orders:
        if not isinstance(o, BookOrder):
            raise TypeError(f"expected BookOrder, got {type(o).__name__}")
        for name in ("tx_index", "give_quantity", "give_remaining", "get_quantity", "get_remaining"):
            if not _is_int(getattr(o, name)):
                raise TypeError(f"order {o.tx_hash!r}: {name} must be an int")
        for name in ("tx_hash", "source", "give_asset", "get_asset"):
            if not isinstance(getattr(o, name), str):
                raise TypeError(f"order {o.tx_hash!r}: {name} must be a str")
        if o.taker is not None and not isinstance(o.taker, str):
            raise TypeError(f"order {o.tx_hash!r}: taker must be a str or None")
        if o.give_quantity <= 0 or o.get_quantity <= 0:
            raise ValueError(f"order {o.tx_hash!r}: quantities must be positive")
        if not 0 <= o.give_remaining <= o.give_quantity:
            raise ValueError(f"order {o.tx_hash!r}: give_remaining must be in [0, give_quantity]")
        if o.get_remaining > o.get_quantity:
            raise ValueError(f"order {o.tx_hash!r}: get_remaining exceeds get_quantity")
        if o.give_asset == o.get_asset:
            raise ValueError(f"order {o.tx_hash!r}: gives and gets the same asset")
        if o.tx_hash in seen:
            raise ValueError(f"duplicate tx_hash {o.tx_hash!r}")
        seen.add(o.tx_hash)
        assets = frozenset((o.give_asset, o.get_asset))
        if market is None:
            market = assets
        elif assets != market:
            raise ValueError(f"orders span more than one market: {sorted(market)} and {sorted(assets)}")


def _may_trade(tx0: BookOrder, tx1: BookOrder, excluded: frozenset[frozenset[str]]) -> bool:
    if excluded and frozenset((tx0.tx_hash, tx1.tx_hash)) in excluded:
        return False
    return (tx0.taker is None or tx0.taker == tx1.source) and (tx1.taker is None or tx1.taker == tx0.source)


def _fee_rate(fee_rate: object) -> Fraction:
    if isinstance(fee_rate, bool) or not isinstance(fee_rate, (int, Fraction)):
        raise TypeError("fee_rate must be an int or a Fraction (no floats)")
    rate = Fraction(fee_rate)
    if not 0 <= rate <= 1:
        raise ValueError(f"fee_rate must be within [0, 1], got {rate}")
    return rate


def match_orders(orders: Iterable[BookOrder], fee_rate: Fraction = Fraction(0),
                 excluded_pairs: frozenset[frozenset[str]] = frozenset()) -> MatchResult:
    """Replay the open ``orders`` of one market in arrival order and match them.

    ``excluded_pairs`` holds pairs of order hashes that may not trade again (their
    earlier match expired unpaid). The result does not depend on the iteration order
    of ``orders``.  Raises ``ValueError`` for orders of more than one market or
    malformed quantities.
    """
    rate = _fee_rate(fee_rate)
    ordered = list(orders)
    _validate(ordered)
    ordered.sort(key=lambda o: (o.tx_index, o.tx_hash))

    books: dict[str, list[_Live]] = {}  # give_asset -> resting orders, best first
    live: list[_Live] = []
    fills: list[Fill] = []

    for order in ordered:
        tx1 = _Live(order)
        live.append(tx1)
        if tx1.should_close():
            tx1.closed = tx1.changed = True
            continue
        book = books.get(order.get_asset, [])
        i = 0
        while i < len(book):
            tx0 = book[i]
            if not crosses(tx0.order, order):
                break  # sorted by price: nothing further crosses either
            if not _may_trade(tx0.order, order, excluded_pairs):
                i += 1
                continue
            forward, backward = _fill_quantities(tx0.order, tx0.give_remaining, order, tx1.give_remaining)
            if forward == 0:
                i += 1
                continue
            fills.append(
                Fill(
                    tx0_hash=tx0.order.tx_hash,
                    tx1_hash=order.tx_hash,
                    forward_asset=tx0.order.give_asset,
                    forward_quantity=forward,
                    backward_asset=order.give_asset,
                    backward_quantity=backward,
                    fee=forward * rate.numerator // rate.denominator,
                )
            )
            tx0.give_remaining -= forward
            tx0.get_remaining -= backward
            tx1.give_remaining -= backward
            tx1.get_remaining -= forward
            tx0.changed = tx1.changed = True
            if tx0.should_close():
                tx0.closed = True
                del book[i]
            else:
                i += 1
            if tx1.should_close():
                tx1.closed = True
                break
        if not tx1.closed:
            insort(books.setdefault(order.give_asset, []), tx1, key=lambda x: x.key)

    outcomes = {x.order.tx_hash: x.outcome() for x in live if x.changed}
    return MatchResult(fills=tuple(fills), outcomes=outcomes)
