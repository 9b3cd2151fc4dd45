"""Pure order-matching engine: price-time priority for give-capped and get-capped orders.

No I/O and no AWS: callers load the open orders of one market, call
:func:`match_orders`, and persist the returned fills and order outcomes.

Conventions
-----------
* Every order *gives* ``give_quantity`` of ``give_asset`` and *gets*
  ``get_quantity`` of ``get_asset`` (integers in base units).  Its price is
  ``get_quantity / give_quantity``: what it asks per unit it gives.  Both sides
  of a market are expressed this way, so on either side a lower price is better
  for the counterparty and is matched first.
* Every order has a cap (``BookOrder.cap``), which says what limits it and when it is done:

  - ``"give"`` (Counterparty, 0x): it never gives more than ``give_quantity``; at a
    better price it may receive more than ``get_quantity`` (a buy sized by what it
    locked), and it is done as soon as either side is reached (Counterparty's rule).
  - ``"get"`` (CoinBTR buys): it never receives more than ``get_quantity`` in
    total.  Fills are at the resting order's price, so at a better price it
    spends less than it locked; the unspent give side is refunded when it closes.
  - ``"give_all"`` (CoinBTR sells): it never gives more than ``give_quantity`` and
    is done only when it has given all of it (or the rest is dust): the get side is
    only its limit price.  Under ``"give"`` a sell that walks better bids reaches its
    get side early and its last units are refunded unsold; an exchange sell of 33
    sells 33 while bids at or above its price remain.

  All kinds trade in one book, as taker or as maker.
* Orders are replayed in arrival order ``(tx_index, tx_hash)``.  Each incoming
  order (``tx1``, the taker) trades against earlier resting orders (``tx0``,
  the makers) of the opposite side, best price first, then earliest, at the
  maker's price, for as long as the prices cross.  Whatever is left rests.
* Quantities of one fill (``p0`` = maker price ``G0 / g0``; ``forward`` goes from
  tx0 to tx1 in tx0's give asset, ``backward`` from tx1 to tx0)::

      upper    = min(tx0.give_remaining, floor(tx1.give_remaining / p0),
                     tx1.get_remaining              if tx1 is get-capped,
                     floor(tx0.get_remaining / p0)  if tx0 is get-capped)
      forward  = largest f <= upper
                 such that ceil(f * p0) * tx1.get_quantity <= f * tx1.give_quantity
      backward = ceil(forward * p0)

  The ceiling means the maker never receives less than its price; the bound on
  ``forward`` means the taker never pays more than its own limit nor more than it
  has; the cap terms mean a get-capped taker never receives more than it still
  wants, and a get-capped maker never more than it still wants (``ceil(f * p0) <=
  R`` exactly when ``f <= floor(R / p0)``).  This is exactly "decrement forward
  until it holds", computed arithmetically (:func:`_max_valid_forward`).
* An order closes (:func:`close_reason`) as ``"filled"`` when its give side is
  spent or (``"give"`` and ``"get"``) its get side reached (``get_remaining <= 0``),
  or as ``"dust"`` when it can no longer trade a unit at its own price: for a
  give-capped order (``"give"``, ``"give_all"``), its ``give_remaining`` buys less
  than one unit; for a get-capped one, its ``get_remaining`` costs less than one
  unit of its give side (any fill of one unit or more would then pay above its
  limit).  A closed order's
  ``give_remaining`` is refunded to its owner.
* Self-trade prevention: an incoming order never fills against a resting order of
  the same ``source``.  Where such a fill would happen, the *resting* order is
  cancelled instead (closed, reason ``"self_trade"``, its ``give_remaining``
  refunded) and the incoming order goes on down the book.  Cancelling the older
  order (not skipping it) keeps the book uncrossed, so a replay of what is left
  finds nothing to do; it is what exchanges call "cancel resting" / "expire maker".
* Fees: ``fee = ceil(forward * fee_rate)`` per fill, taken from ``forward`` (paid
  by the taker).  Rounding up per fill means splitting cannot dodge the fee:
  ``ceil(x) + ceil(y) >= ceil(x + y)``, so many small fills never pay less than
  one fill of the same total (rounding down let a taker pay nothing by splitting
  into fills below ``1 / fee_rate`` units).  It costs a taker at most one base
  unit per fill over the exact rate, and ``fee_rate <= 1`` keeps ``fee <=
  forward``.  Accruing per order instead would need a carried remainder on every
  order and would still be dodged by splitting into many orders.

Implementation
--------------
Each side of the book is a set of price levels, each a FIFO queue (``deque``) of
resting orders in arrival order, keyed by an exact integer price key; the keys
are on a heap, best (lowest) first.  ``key = get_quantity * S // give_quantity``
with ``S = (largest give_quantity in the call) ** 2``: two distinct prices
``n1/d1 != n2/d2`` differ by at least ``1 / (d1 * d2) >= 1 / S``, so their
scaled values differ by at least 1 and the floors stay apart and in order, while
equal prices give equal keys.  Crossing tests and fill sizes are cross-multiplied
integers; only a fill whose first candidate would pay above the taker's limit
runs the integer descent of :func:`_max_valid_forward`.  No ``Fraction`` is used
in the loop; results are exact integers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from heapq import heappop, heappush
from operator import attrgetter
from typing import NamedTuple

__all__ = [
    "CAPS",
    "BookOrder",
    "Fill",
    "MatchResult",
    "OrderOutcome",
    "book_sort_key",
    "close_reason",
    "crosses",
    "is_dust",
    "match_orders",
    "order_price",
]

CAPS = ("give", "get", "give_all")
_GIVE_CAP, _GET_CAP, _GIVE_ALL_CAP = range(3)  # CAPS by index, for the hot loop
_CAP_KIND = {cap: kind for kind, cap in enumerate(CAPS)}


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
    cap: str = "give"  # one of CAPS: what limits the order and when it is done (module docstring)


# Fill and OrderOutcome are immutable records created in the hot loop: NamedTuples,
# which are several times cheaper to create than frozen dataclasses.


class Fill(NamedTuple):
    tx0_hash: str  # resting order (maker)
    tx1_hash: str  # incoming order (taker)
    forward_asset: str  # from tx0 to tx1
    forward_quantity: int
    backward_asset: str  # from tx1 to tx0
    backward_quantity: int
    fee: int  # taken from forward, in forward_asset, paid by tx1


class OrderOutcome(NamedTuple):
    tx_hash: str
    give_remaining: int  # for a closed order: the amount refunded (== refund)
    get_remaining: int
    closed: bool  # leaves the book
    refund: int  # give_remaining returned to the owner when closed, else 0
    reason: str | None = None  # None while open, else "filled", "dust" or "self_trade"


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
    remainder is dust too.  This is the dust rule of a give-capped order; see
    :func:`close_reason` for both caps.
    """
    return give_remaining * get_quantity < give_quantity


def close_reason(cap: str, give_remaining: int, get_remaining: int, give_quantity: int,
                 get_quantity: int) -> str | None:
    """Why an order in this state leaves the book: ``"filled"``, ``"dust"``, or None (it stays)."""
    return _close_reason(_CAP_KIND[cap], give_remaining, get_remaining, give_quantity, get_quantity)


def _close_reason(kind: int, give_remaining: int, get_remaining: int, give_quantity: int,
                  get_quantity: int) -> str | None:
    if give_remaining <= 0:
        return "filled"
    if kind == _GET_CAP:
        if get_remaining <= 0:
            return "filled"
        return "dust" if get_remaining * give_quantity < get_quantity else None
    if get_remaining <= 0 and kind == _GIVE_CAP:
        return "filled"
    return "dust" if give_remaining * get_quantity < give_quantity else None


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


def _max_valid_forward(limit: int, a_num: int, a_den: int, c_num: int, c_den: int) -> int:
    """Largest ``f`` in ``[0, limit]`` with ``ceil(f * a) <= f * c`` where ``a = a_num / a_den``,
    ``c = c_num / c_den`` and ``0 < a <= c`` (all integers, positive denominators).

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
    if not (a_den > 0 and c_den > 0 and 0 < a_num and a_num * c_den <= c_num * a_den):
        raise ValueError("need 0 < a <= c")
    frames: list[tuple[int, int, int]] = []
    bound = limit
    while True:
        if bound <= 0:
            result = 0
            break
        n, rest = divmod(a_num, a_den)
        if rest == 0 or (n + 1) * c_den <= c_num:
            result = bound
            break
        a_num = rest  # a - n, now 0 < a < 1
        c_num -= n * c_den  # c - n, now a <= c < 1
        if -(-bound * a_num // a_den) * c_den <= bound * c_num:  # ceil(bound * a) <= bound * c
            result = bound
            break
        frames.append((bound, a_num, a_den))
        bound = bound * c_num // c_den
        a_num, a_den, c_num, c_den = c_den, c_num, a_den, a_num  # (1/c, 1/a)
    for outer_bound, outer_num, outer_den in reversed(frames):
        if result == 0:
            break
        result = min(outer_bound, result * outer_den // outer_num)  # floor(result / outer_a)
    return result


# --------------------------------------------------------------------------- validation


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_INT_FIELDS = ("tx_index", "give_quantity", "give_remaining", "get_quantity", "get_remaining")
_STR_FIELDS = ("tx_hash", "source", "give_asset", "get_asset")


def _check_types(o: object) -> None:
    """The slow, precise type check, run only for an order that fails the fast one."""
    if not isinstance(o, BookOrder):
        raise TypeError(f"expected BookOrder, got {type(o).__name__}")
    for name in _INT_FIELDS:
        if not _is_int(getattr(o, name)):
            raise TypeError(f"order {o.tx_hash!r}: {name} must be an int")
    for name in _STR_FIELDS:
        if not isinstance(getattr(o, name), str):
            raise TypeError(f"order {o.tx_hash!r}: {name} must be a str")
    if o.taker is not None and not isinstance(o.taker, str):
        raise TypeError(f"order {o.tx_hash!r}: taker must be a str or None")
    if not isinstance(o.cap, str):
        raise TypeError(f"order {o.tx_hash!r}: cap must be a str")


def _validate(orders: list[BookOrder]) -> None:
    if not orders:
        return
    _check_types(orders[0])
    asset_a, asset_b = orders[0].give_asset, orders[0].get_asset
    for o in orders:
        # One fast check of the common case (exact built-in types); anything else gets the precise one.
        if not (isinstance(o, BookOrder) and type(o.tx_index) is int and type(o.give_quantity) is int
                and type(o.give_remaining) is int and type(o.get_quantity) is int
                and type(o.get_remaining) is int and type(o.tx_hash) is str and type(o.source) is str
                and type(o.give_asset) is str and type(o.get_asset) is str
                and (o.taker is None or type(o.taker) is str)):
            _check_types(o)
        if o.give_quantity <= 0 or o.get_quantity <= 0:
            raise ValueError(f"order {o.tx_hash!r}: quantities must be positive")
        if not 0 <= o.give_remaining <= o.give_quantity:
            raise ValueError(f"order {o.tx_hash!r}: give_remaining must be in [0, give_quantity]")
        if o.get_remaining > o.get_quantity:
            raise ValueError(f"order {o.tx_hash!r}: get_remaining exceeds get_quantity")
        if o.cap not in _CAP_KIND:
            raise ValueError(f"order {o.tx_hash!r}: cap must be one of {CAPS}, got {o.cap!r}")
        if not ((o.give_asset == asset_a and o.get_asset == asset_b)
                or (o.give_asset == asset_b and o.get_asset == asset_a)):
            if o.give_asset == o.get_asset:
                raise ValueError(f"order {o.tx_hash!r}: gives and gets the same asset")
            raise ValueError(f"orders span more than one market: {sorted((asset_a, asset_b))} and "
                             f"{sorted((o.give_asset, o.get_asset))}")
    if asset_a == asset_b:
        raise ValueError(f"order {orders[0].tx_hash!r}: gives and gets the same asset")
    if len({o.tx_hash for o in orders}) != len(orders):
        seen: set[str] = set()
        for o in orders:
            if o.tx_hash in seen:
                raise ValueError(f"duplicate tx_hash {o.tx_hash!r}")
            seen.add(o.tx_hash)


def _fee_rate(fee_rate: object) -> Fraction:
    if isinstance(fee_rate, bool) or not isinstance(fee_rate, (int, Fraction)):
        raise TypeError("fee_rate must be an int or a Fraction (no floats)")
    rate = Fraction(fee_rate)
    if not 0 <= rate <= 1:
        raise ValueError(f"fee_rate must be within [0, 1], got {rate}")
    return rate


def _partners(excluded_pairs: frozenset[frozenset[str]]) -> dict[str, set[str]]:
    """tx_hash -> the hashes it may not trade with (both directions)."""
    partners: dict[str, set[str]] = {}
    for pair in excluded_pairs:
        if len(pair) == 2:
            x, y = pair
            partners.setdefault(x, set()).add(y)
            partners.setdefault(y, set()).add(x)
    return partners


# --------------------------------------------------------------------------- matching

_ARRIVAL = attrgetter("tx_index", "tx_hash")
# Builds a Fill or OrderOutcome from a ready tuple of all its fields, skipping the NamedTuple's
# Python-level __new__ (three times the cost, in a loop that makes one per fill).
_new_tuple = tuple.__new__


def match_orders(orders: Iterable[BookOrder], fee_rate: Fraction = Fraction(0),
                 excluded_pairs: frozenset[frozenset[str]] = frozenset()) -> MatchResult:
    """Replay the open ``orders`` of one market in arrival order and match them.

    ``excluded_pairs`` holds pairs of order hashes that may not trade again (their
    earlier match expired unpaid). The result does not depend on the iteration order
    of ``orders``.  Raises ``ValueError`` for orders of more than one market or
    malformed quantities.
    """
    rate = _fee_rate(fee_rate)
    fee_num, fee_den = rate.numerator, rate.denominator
    ordered = list(orders)
    _validate(ordered)
    if not ordered:
        return MatchResult(fills=(), outcomes={})
    ordered.sort(key=_ARRIVAL)
    partners = _partners(excluded_pairs) if excluded_pairs else None
    scale = max(o.give_quantity for o in ordered) ** 2  # exact integer price keys (module docstring)
    first_asset = ordered[0].give_asset
    # The live state of order j (its arrival position) is in flat lists rather than one object per
    # order: fewer allocations, and far less for the garbage collector to walk in a big book.
    give_left = [o.give_remaining for o in ordered]
    get_left = [o.get_remaining for o in ordered]
    kinds = [_CAP_KIND[o.cap] for o in ordered]
    reasons: list[str | None] = [None] * len(ordered)
    touched = bytearray(len(ordered))
    heaps: tuple[list[int], list[int]] = ([], [])  # per side: price keys of its levels, best on top
    books: tuple[dict[int, deque[int]], dict[int, deque[int]]] = ({}, {})  # per side: key -> FIFO of j
    fills: list[Fill] = []
    append_fill = fills.append

    for j1, o in enumerate(ordered):
        g1, G1 = o.give_quantity, o.get_quantity
        r1, q1 = o.give_remaining, o.get_remaining
        kind1 = kinds[j1]
        get_capped = kind1 == _GET_CAP
        reason1 = _close_reason(kind1, r1, q1, g1, G1)
        if reason1 is not None:  # already done or dust when it enters
            reasons[j1] = reason1
            touched[j1] = 1
            continue
        side = 0 if o.give_asset == first_asset else 1
        heap, book = heaps[1 - side], books[1 - side]
        source1, taker1, hash1, asset1 = o.source, o.taker, o.tx_hash, o.give_asset
        avoid = partners.get(hash1) if partners else None
        set_aside: list[int] = []  # better levels passed over whose makers cannot trade with o
        filled = False
        while heap:
            key = heap[0]
            level = book[key]
            head = ordered[level[0]]
            if head.get_quantity * G1 > head.give_quantity * g1:
                break  # best remaining level does not cross: nothing further does
            i, n = 0, len(level)
            while i < n:
                j0 = level[i]
                m = ordered[j0]
                if ((m.taker is not None and m.taker != source1) or (taker1 is not None and taker1 != m.source)
                        or (avoid is not None and m.tx_hash in avoid)):
                    i += 1
                    continue
                g0, G0 = m.give_quantity, m.get_quantity
                r0 = give_left[j0]
                forward = r1 * g0 // G0
                if r0 < forward:
                    forward = r0
                if get_capped and q1 < forward:
                    forward = q1
                kind0 = kinds[j0]
                if kind0 == _GET_CAP:
                    wanted = get_left[j0] * g0 // G0
                    if wanted < forward:
                        forward = wanted
                if forward <= 0:
                    i += 1
                    continue
                backward = -(-forward * G0 // g0)
                if backward * G1 > forward * g1:  # rounding up would pay above the taker's limit
                    forward = _max_valid_forward(forward, G0, g0, g1, G1)
                    if forward == 0:
                        i += 1
                        continue
                    backward = -(-forward * G0 // g0)
                touched[j0] = 1
                if m.source == source1:  # self-trade: cancel the resting order instead
                    reasons[j0] = "self_trade"
                    del level[i]
                    n -= 1
                    continue
                append_fill(_new_tuple(Fill, (m.tx_hash, hash1, m.give_asset, forward, asset1, backward,
                                              -(-forward * fee_num // fee_den))))
                r0 -= forward
                q0 = get_left[j0] - backward
                give_left[j0], get_left[j0] = r0, q0
                r1 -= backward
                q1 -= forward
                filled = True
                reason0 = _close_reason(kind0, r0, q0, g0, G0)
                if reason0 is not None:
                    reasons[j0] = reason0
                    del level[i]
                    n -= 1
                else:
                    i += 1
                reason1 = _close_reason(kind1, r1, q1, g1, G1)
                if reason1 is not None:
                    break
            if not level:
                heappop(heap)
                del book[key]
            elif reason1 is None:  # o goes on past makers it could not trade with
                set_aside.append(heappop(heap))
            if reason1 is not None:
                break
        for key in set_aside:
            heappush(heap, key)
        if filled:
            give_left[j1], get_left[j1], reasons[j1] = r1, q1, reason1
            touched[j1] = 1
        if reason1 is None:  # rests at its own price, behind earlier orders of that price
            key = G1 * scale // g1
            own = books[side].get(key)
            if own is None:
                books[side][key] = deque((j1,))
                heappush(heaps[side], key)
            else:
                own.append(j1)

    outcomes = {}
    for j in range(len(ordered)):
        if touched[j]:
            tx_hash, reason, left = ordered[j].tx_hash, reasons[j], give_left[j]
            outcomes[tx_hash] = _new_tuple(OrderOutcome, (tx_hash, left, get_left[j], reason is not None,
                                                          0 if reason is None else left, reason))
    return MatchResult(fills=tuple(fills), outcomes=outcomes)
