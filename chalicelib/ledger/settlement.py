"""Settle a market: read its book, run the pure matcher, write the fills.

Serialized per market by the market item's `seq`: every settling transaction
conditions on the `seq` it read and increments it, so two matchers working on one
market cannot both commit from the same view. Within the transaction each match is
put with `attribute_not_exists(id)` (a second delivery cannot settle it twice), each
order is conditioned on the remaining quantity read, and each debit on the balance.
A failed condition re-reads and recomputes; nothing is ever written blind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction

from chalicelib import observability, settings
from chalicelib.ledger import store, stores
from chalicelib.ledger.assets import get_asset
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.markets import fee_rate, get_market
from chalicelib.ledger.matching import BookOrder, Fill, is_dust, match_orders
from chalicelib.ledger.models import Order, OrderMatch
from chalicelib.ledger.orders import status_index
from chalicelib.ledger.stores.markets import Market
from chalicelib.logs import Timer

log = logging.getLogger("lambdex.settlement")

MATCH_EXPIRE_BLOCKS = 20  # Counterparty: a pending match expires 20 blocks after it is made
BOOK_PAGE = 200


@dataclass
class SettleReport:
    market: str
    fills: int = 0
    transactions: int = 0
    retries: int = 0
    closed: int = 0


def read_open_orders(market: str, clock: Clock) -> list[Order]:
    """The open book, by one strongly consistent Query of the `book` local index (both
    sides, each sorted best first). A book too big for one page is read side by side,
    each side's best part: whatever crosses is always at the top of its side."""
    now = clock.now()
    found = list(Order.book.query(market, consistent_read=True, limit=2 * BOOK_PAGE))
    if len(found) == 2 * BOOK_PAGE:
        found = [o for side in ("B", "S") for o in Order.book.query(
            market, Order.book_key.startswith(f"{side}#"), consistent_read=True, limit=BOOK_PAGE)]
    return [o for o in found if o.expires_at > now]


def to_book_order(order: Order) -> BookOrder:
    return BookOrder(
        tx_hash=order.tx_hash, tx_index=int(order.tx_index), source=order.source,
        give_asset=order.give_asset, give_quantity=int(order.give_quantity),
        give_remaining=int(order.give_remaining), get_asset=order.get_asset,
        get_quantity=int(order.get_quantity), get_remaining=int(order.get_remaining), taker=order.taker,
    )


def match_market(market_id: str, clock: Clock, max_rounds: int = 50) -> SettleReport:
    """Settle everything that crosses in `market_id`; safe to call concurrently and repeatedly."""
    report = SettleReport(market_id)
    timer = Timer()
    for _ in range(max_rounds):
        try:
            settled = _settle_once(market_id, clock, report)
        except (store.StaleRead, store.Retryable, store.AlreadyApplied) as error:
            report.retries += 1
            log.info("settle retry", extra={"market": market_id, "reason": type(error).__name__})
            continue
        if not settled:
            break
    observability.count("Fills", report.fills)
    observability.count("SettleRetries", report.retries)
    if report.fills or report.retries:
        log.info("market settled", extra={"market": market_id, "fills": report.fills,
                                          "transactions": report.transactions, "retries": report.retries,
                                          "ms": timer.ms()})
    return report


def _settle_once(market_id: str, clock: Clock, report: SettleReport) -> bool:
    """One read-match-commit round; True when there is more to settle."""
    market = get_market(market_id, consistent=True)
    orders = {o.tx_hash: o for o in read_open_orders(market.id, clock)}
    if len(orders) < 2:
        return False
    excluded = frozenset(frozenset((o.tx_hash, other)) for o in orders.values() for other in o.expired_with or ())
    result = match_orders([to_book_order(o) for o in orders.values()], fee_rate(market), excluded)
    closed_on_entry = [h for h, outcome in result.outcomes.items()
                       if outcome.closed and not any(h in (f.tx0_hash, f.tx1_hash) for f in result.fills)]
    if not result.fills and not closed_on_entry:
        return False
    fills = _fills_that_fit(result.fills, orders)
    complete = len(fills) == len(result.fills)
    _commit(market, orders, fills, closed_on_entry if complete else [], clock)
    report.fills += len(fills)
    report.transactions += 1
    # After a complete commit the book it read is uncrossed; orders placed since have
    # their own triggers (and the scheduler's reconciler), so there is no second read.
    return not complete


def _fills_that_fit(fills: tuple[Fill, ...], orders: dict[str, Order]) -> list[Fill]:
    """The longest prefix of `fills` whose transaction stays within DynamoDB's 100 items."""
    chosen: list[Fill] = []
    touched_orders: set[str] = set()
    balances: set[tuple[str, str]] = set()
    for fill in fills:
        tx0, tx1 = orders[fill.tx0_hash], orders[fill.tx1_hash]
        new_orders = touched_orders | {fill.tx0_hash, fill.tx1_hash}
        new_balances = balances | {(tx0.source, tx0.give_asset), (tx0.source, tx0.get_asset),
                                   (tx1.source, tx1.give_asset), (tx1.source, tx1.get_asset),
                                   (settings.fee_account(), fill.forward_asset)}
        size = 2 + len(new_orders) + len(chosen) + 1 + len(new_balances)  # market, journal, orders, matches, ...
        if chosen and size > store.MAX_TRANSACTION_ITEMS:
            break
        chosen.append(fill)
        touched_orders, balances = new_orders, new_balances
    return chosen


def _commit(market: Market, orders: dict[str, Order], fills: list[Fill], closed_on_entry: list[str],
            clock: Clock) -> None:
    now_us, block = clock.now_us(), clock.block_index()
    external = {a for a in (market.base, market.quote) if get_asset(a).settlement == "external"}
    fee_account = settings.fee_account()
    remaining = {h: [int(o.give_remaining), int(o.get_remaining)] for h, o in orders.items()}
    tx = store.Tx()
    last_price = None
    for fill in fills:
        tx0, tx1 = orders[fill.tx0_hash], orders[fill.tx1_hash]
        remaining[tx0.tx_hash][0] -= fill.forward_quantity
        remaining[tx0.tx_hash][1] -= fill.backward_quantity
        remaining[tx1.tx_hash][0] -= fill.backward_quantity
        remaining[tx1.tx_hash][1] -= fill.forward_quantity
        pending = bool(external & {fill.forward_asset, fill.backward_asset})
        if not pending:
            # tx0's escrow goes to tx1 (less the taker fee), tx1's escrow goes to tx0.
            tx.move(tx0.source, fill.forward_asset, locked=-fill.forward_quantity)
            tx.move(tx1.source, fill.forward_asset, available=fill.forward_quantity - fill.fee)
            if fill.fee:
                tx.move(fee_account, fill.forward_asset, available=fill.fee)
            tx.move(tx1.source, fill.backward_asset, locked=-fill.backward_quantity)
            tx.move(tx0.source, fill.backward_asset, available=fill.backward_quantity)
        tx.put(_match_record(market, tx0, tx1, fill, pending, block, now_us),
               condition=OrderMatch.id.does_not_exist(), on_fail=store.AlreadyApplied)
        last_price = _base_price(market, fill)
    closed = 0
    for tx_hash in {h for f in fills for h in (f.tx0_hash, f.tx1_hash)} | set(closed_on_entry):
        order = orders[tx_hash]
        give_left, get_left = remaining[tx_hash]
        is_closed = give_left == 0 or get_left <= 0 or is_dust(give_left, int(order.give_quantity),
                                                               int(order.get_quantity))
        actions = [Order.give_remaining.set(give_left), Order.get_remaining.set(get_left),
                   Order.updated_us.set(now_us)]
        if is_closed:
            closed += 1
            actions += [Order.status.set("filled"), Order.status_index.set(status_index("filled", order.tx_index)),
                        Order.book_key.remove(), Order.open_expires_at.remove()]
            if give_left and order.give_asset not in external:
                tx.move(order.source, order.give_asset, available=give_left, locked=-give_left)
        tx.update(order, actions=actions,
                  condition=(Order.status == "open") & (Order.give_remaining == order.give_remaining))
    seq = market.seq
    stores.markets().stage_advance(tx, market, last_price)
    tx.commit(f"settle:{market.id}:{seq + 1}", "settle", market.id, now_us, block)
    log.info("fills settled", extra={"market": market.id, "seq": seq + 1, "fills": len(fills),
                                     "matches": [f"{f.tx0_hash}_{f.tx1_hash}" for f in fills],
                                     "items": tx.size()})


def _match_record(market: Market, tx0: Order, tx1: Order, fill: Fill, pending: bool, block: int,
                  now_us: int) -> OrderMatch:
    match = OrderMatch(
        f"{tx0.tx_hash}_{tx1.tx_hash}", market=market.id,
        tx0_index=tx0.tx_index, tx0_hash=tx0.tx_hash, tx0_address=tx0.source,
        tx1_index=tx1.tx_index, tx1_hash=tx1.tx_hash, tx1_address=tx1.source,
        forward_asset=fill.forward_asset, forward_quantity=fill.forward_quantity,
        backward_asset=fill.backward_asset, backward_quantity=fill.backward_quantity,
        tx0_block_index=tx0.block_index, tx1_block_index=tx1.block_index, block_index=block,
        tx0_expiration=tx0.expiration, tx1_expiration=tx1.expiration,
        match_expire_index=block + MATCH_EXPIRE_BLOCKS, fee_paid=fill.fee, fee_asset=fill.forward_asset,
        status="pending" if pending else "completed", time_us=now_us,
    )
    if pending:
        match.pending_market = market.id
    return match


def _base_price(market: Market, fill: Fill) -> str:
    """The fill's price in quote base units per base base unit, as a decimal string."""
    if fill.forward_asset == market.base:
        price = Fraction(fill.backward_quantity, fill.forward_quantity)
    else:
        price = Fraction(fill.forward_quantity, fill.backward_quantity)
    return f"{price.numerator}/{price.denominator}"
