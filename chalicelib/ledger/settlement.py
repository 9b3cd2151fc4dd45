"""Settle a market: read what crosses, run the pure matcher, write the fills.

Serialized per market by the market item's `seq`: every settling transaction
conditions on the `seq` it read and increments it, so two matchers working on one
market cannot both commit from the same view. Within the transaction each match is
put with `attribute_not_exists(id)`, each order is conditioned on the remaining
quantity read, and each debit on the balance. A failed condition re-reads and
recomputes; nothing is ever written blind.

Bounded reads. A settlement reads the top `TOP` orders of each side of the public book
(strongly consistent, projected to what the matcher needs). If the best buy and the best
sell do not cross, it stops there. Otherwise it reads exactly the crossing region of each
side: a key-condition range of the `book` index from the side's best price to the price
that still crosses the other side's best, paging only while orders are in that range.
An order outside that region crosses nothing (the other side's best is the easiest to
cross), so the matcher's arrival-order replay of the region equals a replay of the whole
book. At most `MAX_SIDE_READ` orders per side are read in one pass; the next pass goes on
from what this one settled.

Taker-restricted orders (0x `taker`) are kept off the public sides (see
`stores.orders`): they are matched in a second, private round for each trader the
caller names (`traders`: the sources and takers of the orders a stream batch brought),
against that trader's own open orders.
"""

from __future__ import annotations

import logging
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction

from chalicelib import observability, settings
from chalicelib.ledger import market_data, store, stores
from chalicelib.ledger.assets import get_asset
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.markets import fee_rate, get_market
from chalicelib.ledger.matching import Fill, MatchResult, crosses, match_orders
from chalicelib.ledger.stores.market_stats import Bucket
from chalicelib.ledger.stores.markets import Market
from chalicelib.ledger.stores.matches import Match, match_id
from chalicelib.ledger.stores.orders import SIDES, BookEntry, OrderStore, price_bound
from chalicelib.logs import Timer

log = logging.getLogger("lambdex.settlement")

MATCH_EXPIRE_BLOCKS = 20  # Counterparty: a pending match expires 20 blocks after it is made
TOP = 4  # orders read from the top of each side before knowing whether anything crosses
PAGE = 100  # orders per page while reading a crossing region
MAX_SIDE_READ = 1000  # orders of one side read in one pass (bounded work; the next pass goes on)

_readers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="book-read")  # botocore clients are thread-safe


@dataclass
class SettleReport:
    market: str
    fills: int = 0
    transactions: int = 0
    retries: int = 0
    closed: int = 0


# -- reading ------------------------------------------------------------------------------

def __getattr__(name: str) -> OrderStore:
    """`settlement.book`: the active orders store, whose read counts benchmarks and tests look at."""
    if name == "book":
        return stores.orders()
    raise AttributeError(name)


def _price(entry: BookEntry) -> Fraction:
    return Fraction(entry.get_quantity, entry.give_quantity)


def _live(entries: list[BookEntry], now: float) -> list[BookEntry]:
    return [e for e in entries if e.expires_at > now]


def _read_top(market: str, letter: str, now: float, prefix: str = "") -> tuple[list[BookEntry], bool]:
    """The top of one side until its best live order (expired ones the scheduler has not
    removed yet are passed over); (entries read, whether the side may hold more)."""
    book = stores.orders()
    page = book.side(market, letter, limit=TOP, prefix=prefix)
    read = list(page.entries)
    while page.more and not _live(read, now) and len(read) < MAX_SIDE_READ:
        page = book.side(market, letter, limit=PAGE, after=read[-1].book_key, prefix=prefix)
        read += page.entries
    return read, page.more


def _read_region(market: str, letter: str, top: list[BookEntry], more: bool, bound: str,
                 prefix: str = "") -> list[BookEntry]:
    """The orders of one side with keys up to `bound`: those of `top`, then further pages."""
    book = stores.orders()
    region = [e for e in top if e.book_key <= bound]
    while more and region and region[-1].book_key == top[-1].book_key and len(region) < MAX_SIDE_READ:
        page = book.side(market, letter, limit=PAGE, upper=bound, after=region[-1].book_key, prefix=prefix)
        region += page.entries
        top, more = page.entries, page.more
        if not page.entries:
            break
    return region


def read_crossing_orders(market: str, clock: Clock, prefix: str = "") -> list[BookEntry]:
    """The live orders of the crossing region of both sides (empty when the book does not
    cross). `prefix` selects the public book ("") or one taker's restricted orders."""
    now = clock.now()
    # Both tops at once: the settlement then waits for one Query, not two in a row.
    buys = _readers.submit(_read_top, market, "B", now, prefix)
    tops = {"S": _read_top(market, "S", now, prefix), "B": buys.result()}
    best = {letter: next(iter(_live(entries, now)), None) for letter, (entries, _) in tops.items()}
    buy, sell = best["B"], best["S"]
    if buy is None or sell is None or not crosses(buy, sell):
        return []
    found: list[BookEntry] = []
    for letter, other in (("B", sell), ("S", buy)):
        entries, more = tops[letter]
        bound = price_bound(letter, 1 / _price(other), prefix)
        found += _read_region(market, letter, entries, more, bound, prefix)
    return _live(found, now)


def read_open_orders(market: str, clock: Clock) -> list[BookEntry]:
    """The whole live public book (tests and audits; settlement reads only what crosses)."""
    book = stores.orders()
    found: list[BookEntry] = []
    for letter in SIDES:
        page = book.side(market, letter, limit=PAGE)
        found += page.entries
        while page.more:
            page = book.side(market, letter, limit=PAGE, after=found[-1].book_key)
            found += page.entries
    return _live(found, clock.now())


# -- settling -----------------------------------------------------------------------------

def match_market(market_id: str, clock: Clock, max_rounds: int = 50,
                 traders: frozenset[str] | set[str] = frozenset()) -> SettleReport:
    """Settle everything that crosses in `market_id`, and the orders restricted to each of
    `traders` against that trader's own orders; safe to call concurrently and repeatedly."""
    report = SettleReport(market_id)
    timer = Timer()
    if not traders:
        traders = _restricted_takers(market_id)
    rounds = [lambda: _settle_once(market_id, clock, report, read_crossing_orders(market_id, clock))]
    rounds += [lambda t=trader: _settle_once(market_id, clock, report, _restricted_book(market_id, t, clock))
               for trader in sorted(traders)]
    for settle in rounds:
        for _ in range(max_rounds):
            try:
                more = settle()
            except (store.StaleRead, store.Retryable, store.AlreadyApplied) as error:
                report.retries += 1
                log.info("settle retry", extra={"market": market_id, "reason": type(error).__name__})
                continue
            if not more:
                break
    observability.count("Fills", report.fills)
    observability.count("SettleRetries", report.retries)
    if report.fills or report.retries:
        log.info("market settled", extra={"market": market_id, "fills": report.fills,
                                          "transactions": report.transactions, "retries": report.retries,
                                          "ms": timer.ms()})
    return report


RECONCILE_TAKERS = 20  # takers whose restricted orders one un-hinted pass settles


def _restricted_takers(market_id: str) -> set[str]:
    """Without hints (the scheduler's reconciler): some takers of the market's restricted
    orders, read from a random point of their key space on, so that every taker is
    reached over a few passes while one pass stays bounded."""
    if not get_market(market_id).restricted:  # cached; the flag is set once, never cleared
        return set()
    takers: set[str] = set()
    start = f"{random.getrandbits(32):08x}"[: random.randint(0, 4)]
    for low in (start, ""):
        page = stores.orders().restricted_from(market_id, low, limit=PAGE)
        takers |= {e.taker for e in page.entries if e.taker}
        if len(takers) >= RECONCILE_TAKERS or not start:
            break
    return set(sorted(takers)[:RECONCILE_TAKERS])


def _restricted_book(market_id: str, trader: str, clock: Clock) -> list[BookEntry]:
    """The orders only `trader` may fill, with `trader`'s own open orders that cross them."""
    now = clock.now()
    page = stores.orders().restricted_to(market_id, trader, limit=PAGE)
    restricted = _live(page.entries, now)
    if not restricted:
        return []
    own: list[BookEntry] = []
    for letter in SIDES:
        opposite = [e for e in restricted if e.letter != letter]
        if opposite:
            best = min(opposite, key=_price)
            bound = price_bound(letter, 1 / _price(best))
            own += [e for e in stores.orders().own_side(trader, market_id, letter, bound, limit=PAGE)
                    if e.expires_at > now]
    return restricted + own if own else []


def _settle_once(market_id: str, clock: Clock, report: SettleReport, read: list[BookEntry]) -> bool:
    """One read-match-commit round; True when there is more to settle."""
    if len(read) < 2:
        return False
    market = get_market(market_id, consistent=True)
    orders = {e.tx_hash: e for e in read}
    excluded = frozenset(frozenset((e.tx_hash, other)) for e in read for other in e.expired_with)
    result = match_orders(list(orders.values()), fee_rate(market), excluded)
    traded = {h for f in result.fills for h in (f.tx0_hash, f.tx1_hash)}
    closed_on_entry = [h for h, outcome in result.outcomes.items() if outcome.closed and h not in traded]
    if not result.fills and not closed_on_entry:
        return False
    plan = _plan(market, orders, result, closed_on_entry, clock)
    tx = plan.commit()
    report.fills += len(plan.fills)
    report.transactions += 1
    report.closed += plan.closed
    log.info("fills settled", extra={"market": market.id, "seq": plan.seq, "fills": len(plan.fills),
                                     "matches": plan.match_ids, "items": tx.size()})
    # After a complete commit the book it read is uncrossed; orders placed since have
    # their own triggers (and the scheduler's reconciler), so there is no second read.
    return not plan.complete


# -- one settling transaction, within DynamoDB's limits by construction ----------------------

@dataclass
class _Plan:
    market: Market
    orders: dict[str, BookEntry]
    result: MatchResult
    fills: list[Fill]
    closing: list[str]  # closed on entry (no fill): dust, or cancelled by self-trade prevention
    complete: bool
    seq: int
    now_us: int
    block: int
    completes: bool = False  # both assets settle on the ledger: the fills complete here
    stats_read: Bucket | None = None  # this hour's day-stats bucket as read before the commit
    closed: int = 0
    match_ids: tuple[str, ...] = ()

    def build(self) -> store.Tx:
        market, orders = self.market, self.orders
        external = {a for a in (market.base, market.quote) if get_asset(a).settlement == "external"}
        fee_account = settings.fee_account()
        remaining = {h: [e.give_remaining, e.get_remaining] for h, e in orders.items()}
        fills_of: dict[str, int] = {}
        for fill in self.result.fills:
            for h in (fill.tx0_hash, fill.tx1_hash):
                fills_of[h] = fills_of.get(h, 0) + 1
        tx = stores.new_tx()
        ids = []
        last_price = None
        for fill in self.fills:
            tx0, tx1 = orders[fill.tx0_hash], orders[fill.tx1_hash]
            remaining[tx0.tx_hash][0] -= fill.forward_quantity
            remaining[tx0.tx_hash][1] -= fill.backward_quantity
            remaining[tx1.tx_hash][0] -= fill.backward_quantity
            remaining[tx1.tx_hash][1] -= fill.forward_quantity
            for h in (tx0.tx_hash, tx1.tx_hash):
                fills_of[h] -= 1
            pending = bool(external & {fill.forward_asset, fill.backward_asset})
            if not pending:
                # tx0's escrow goes to tx1 (less the taker fee), tx1's escrow goes to tx0.
                tx.move(tx0.source, fill.forward_asset, locked=-fill.forward_quantity)
                tx.move(tx1.source, fill.forward_asset, available=fill.forward_quantity - fill.fee)
                if fill.fee:
                    tx.move(fee_account, fill.forward_asset, available=fill.fee)
                tx.move(tx1.source, fill.backward_asset, locked=-fill.backward_quantity)
                tx.move(tx0.source, fill.backward_asset, available=fill.backward_quantity)
            id = match_id(tx0.tx_hash, tx1.tx_hash, self.seq, repeat=bool(tx0.expired_with or tx1.expired_with))
            ids.append(id)
            stores.matches().stage_new(tx, _match(id, market, tx0, tx1, fill, pending, self.block, self.now_us))
            last_price = _base_price(market, fill)
        self.closed = 0
        touched = list(dict.fromkeys([h for f in self.fills for h in (f.tx0_hash, f.tx1_hash)] + self.closing))
        for tx_hash in touched:
            entry = orders[tx_hash]
            outcome = self.result.outcomes[tx_hash]
            # An order whose every fill is in this commit ends as the matcher says; one with
            # fills left for the next round stays open with what this commit leaves it.
            final = fills_of.get(tx_hash, 0) == 0
            give_left, get_left = (outcome.give_remaining, outcome.get_remaining) if final else remaining[tx_hash]
            close_as = None
            if final and outcome.closed:
                close_as = "cancelled" if getattr(outcome, "reason", None) == "self_trade" else "filled"
                self.closed += 1
                if give_left and entry.give_asset not in external:  # refund what it did not give
                    tx.move(entry.source, entry.give_asset, available=give_left, locked=-give_left)
            stores.orders().stage_fill(tx, entry, give_left, get_left, self.now_us, close_as)
        if self.completes and self.fills:
            _stage_day_stats(tx, market, self.fills, self.now_us, self.stats_read)
        stores.markets().stage_advance(tx, market, last_price)
        self.match_ids = tuple(ids)
        return tx

    def commit(self) -> store.Tx:
        tx = self.build()
        while tx.byte_size() > store.MAX_TRANSACTION_BYTES and len(self.fills) + len(self.closing) > 1:
            # Items are small (no order item is written whole), so only very long names get
            # here: halve the batch (closings first) and let the next round go on.
            if self.closing:
                self.closing = self.closing[:len(self.closing) // 2]
            else:
                self.fills = self.fills[:len(self.fills) // 2]
            self.complete = False
            tx = self.build()
        tx.commit(f"settle:{self.market.id}:{self.seq}", "settle", self.market.id, self.now_us, self.block)
        return tx


def _plan(market: Market, orders: dict[str, BookEntry], result: MatchResult, closed_on_entry: list[str],
          clock: Clock) -> _Plan:
    """The longest prefix of the fills, then of the orders closed on entry, whose transaction
    stays within `store.MAX_TRANSACTION_ITEMS`, counting every item it will hold: the journal
    entry, the market, each match, each order changed, each balance moved (the refunds of
    closing orders included) and the market's day-stats bucket when fills complete."""
    fee_account = settings.fee_account()
    completes = all(get_asset(a).settlement != "external" for a in (market.base, market.quote))
    touched: set[str] = set()
    balances: set[tuple[str, str]] = set()
    chosen: list[Fill] = []

    def size(orders_touched: set[str], balances_moved: set, matches: int) -> int:
        stats_bucket = 1 if completes and matches else 0
        return 2 + len(orders_touched) + matches + len(balances_moved) + stats_bucket

    for fill in result.fills:
        tx0, tx1 = orders[fill.tx0_hash], orders[fill.tx1_hash]
        new_touched = touched | {fill.tx0_hash, fill.tx1_hash}
        new_balances = balances | {(tx0.source, tx0.give_asset), (tx0.source, tx0.get_asset),
                                   (tx1.source, tx1.give_asset), (tx1.source, tx1.get_asset),
                                   (fee_account, fill.forward_asset)}
        if size(new_touched, new_balances, len(chosen) + 1) > store.MAX_TRANSACTION_ITEMS:
            break
        chosen.append(fill)
        touched, balances = new_touched, new_balances
    closing: list[str] = []
    if len(chosen) == len(result.fills):
        for tx_hash in closed_on_entry:
            entry = orders[tx_hash]
            new_balances = balances | {(entry.source, entry.give_asset)}
            if size(touched | {tx_hash}, new_balances, len(chosen)) > store.MAX_TRANSACTION_ITEMS:
                break
            closing.append(tx_hash)
            touched, balances = touched | {tx_hash}, new_balances
    complete = len(chosen) == len(result.fills) and len(closing) == len(closed_on_entry)
    now_us = clock.now_us()
    stats_read = stores.market_stats().get(market.id, market_data.hour_of(now_us)) if completes and chosen else None
    return _Plan(market, orders, result, chosen, closing, complete, market.seq + 1, now_us,
                 clock.block_at(now_us / 1_000_000), completes, stats_read)


def _stage_day_stats(tx, market: Market, fills: list[Fill], now_us: int, read: Bucket | None) -> None:
    """This hour's bucket of the market's 24 h figures with the commit's fills added, on
    condition that it is still the one read: the commit is serialized by `seq` anyway, and
    a replayed or retried commit adds them once or not at all."""
    trades = []
    for fill in fills:
        if fill.forward_asset == market.base:
            base, quote = fill.forward_quantity, fill.backward_quantity
        else:
            base, quote = fill.backward_quantity, fill.forward_quantity
        trades.append(market_data.Trade(Fraction(quote, base), base, quote, now_us))
    stores.market_stats().stage_put(tx, market_data.add_trades(read, market.id, trades), read)


def _match(id: str, market: Market, tx0: BookEntry, tx1: BookEntry, fill: Fill, pending: bool, block: int,
           now_us: int) -> Match:
    return Match(
        id=id, market=market.id, tx0_index=tx0.tx_index, tx0_hash=tx0.tx_hash, tx0_address=tx0.source,
        tx1_index=tx1.tx_index, tx1_hash=tx1.tx_hash, tx1_address=tx1.source,
        forward_asset=fill.forward_asset, forward_quantity=fill.forward_quantity,
        backward_asset=fill.backward_asset, backward_quantity=fill.backward_quantity,
        tx0_block_index=tx0.block_index, tx1_block_index=tx1.block_index, block_index=block,
        tx0_expiration=tx0.expiration, tx1_expiration=tx1.expiration,
        match_expire_index=block + MATCH_EXPIRE_BLOCKS, fee_paid=fill.fee, fee_asset=fill.forward_asset,
        status="pending" if pending else "completed", time_us=now_us,
    )


def _base_price(market: Market, fill: Fill) -> str:
    """The fill's price in quote base units per base base unit, as a fraction string."""
    if fill.forward_asset == market.base:
        price = Fraction(fill.backward_quantity, fill.forward_quantity)
    else:
        price = Fraction(fill.forward_quantity, fill.backward_quantity)
    return f"{price.numerator}/{price.denominator}"
