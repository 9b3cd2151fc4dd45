"""Matches that involve an externally settled asset (Counterparty's BTC).

Such a match is `pending` when it is made: the ledger-side amount stays locked, the
external side is paid outside the ledger. An observed transfer (`POST /admin/deposits`
with `match_id`) of at least what is owed completes it: the locked amount goes to the
payer's counterparty, less the taker fee, and the match enters the market's 24 h figures
(`market_data`: only completed trades count). At `match_expire_index` an unpaid match
expires: both orders get back what the match took and re-open (unless they were
cancelled or have expired meanwhile, in which case the escrow is returned).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from chalicelib import settings
from chalicelib.ledger import market_data, store, stores
from chalicelib.ledger.assets import get_asset
from chalicelib.ledger.clock import Clock, iso_utc
from chalicelib.ledger.markets import get_market
from chalicelib.ledger.orders import get_order
from chalicelib.ledger.stores.deposits import Deposit
from chalicelib.ledger.stores.matches import Match
from chalicelib.ledger.stores.orders import Order, closed, reopened

log = logging.getLogger("lambdex.external")


def owed(match: Match) -> tuple[str, str, int]:
    """(payer address, external asset, quantity) the match waits for."""
    if get_asset(match.forward_asset).settlement == "external":
        return match.tx0_address, match.forward_asset, match.forward_quantity
    return match.tx1_address, match.backward_asset, match.backward_quantity


def pay_match(deposit: Deposit, clock: Clock) -> str:
    """Complete the match a deposit pays; returns the deposit's new status."""
    match = stores.matches().get(deposit.match_id or "")
    if match is None:
        return _reject(deposit, f"no order match {deposit.match_id}", clock)
    if match.status != "pending":
        return _reject(deposit, f"order match {match.id} is {match.status}, not pending", clock)
    _, asset, quantity = owed(match)
    if deposit.coin != asset:
        return _reject(deposit, f"order match {match.id} is paid in {asset}, not {deposit.coin}", clock)
    if deposit.quantity < quantity:
        return _reject(deposit, f"order match {match.id} needs {quantity}, got {deposit.quantity}", clock)
    now_us = clock.now_us()  # one instant for the whole operation
    tx = stores.new_tx()
    if asset == match.forward_asset:  # tx0 paid outside; tx1's escrow goes to tx0
        tx.move(match.tx1_address, match.backward_asset, locked=-match.backward_quantity)
        tx.move(match.tx0_address, match.backward_asset, available=match.backward_quantity)
    else:  # tx1 paid outside; tx0's escrow goes to tx1, less the taker fee
        fee = match.fee_paid
        tx.move(match.tx0_address, match.forward_asset, locked=-match.forward_quantity)
        tx.move(match.tx1_address, match.forward_asset, available=match.forward_quantity - fee)
        if fee:
            tx.move(settings.fee_account(), match.forward_asset, available=fee)
    stores.matches().stage_settle(tx, match, "completed")
    _stage_day_stats(tx, match)
    stores.deposits().stage_change(tx, deposit.key, "new", {
        "status": "credited", "owner": f"match:{match.id}", "processed_at": iso_utc(now_us),
        "pending_status": None})
    tx.commit(f"pay:{match.id}", "settle", match.id, now_us, clock.block_at(now_us / 1_000_000))
    log.info("match paid", extra={"match": match.id, "deposit": deposit.key})
    return "credited"


def _stage_day_stats(tx, match: Match) -> None:
    """The paid match enters its market's 24 h figures, in the hour it was matched (a
    pending match is no trade until paid; one that expires unpaid never counts)."""
    market = get_market(match.market)
    trade = market_data.trade_of(market, match)
    read = stores.market_stats().get(market.id, market_data.hour_of(trade.time_us))
    stores.market_stats().stage_put(tx, market_data.add_trades(read, market.id, [trade]), read)


def _reject(deposit: Deposit, reason: str, clock: Clock) -> str:
    from chalicelib.ledger.deposits import mark_invalid

    mark_invalid(deposit, reason, clock)
    return "inv"


def expire_pending_matches(market: str, clock: Clock, limit: int = 100) -> int:
    block = clock.block_index()
    due = stores.matches().pending_due(market, block, limit=limit)
    expired = 0
    for match in due:
        try:
            store.run(lambda m=match: _expire(m.id, clock), what=f"expire match {match.id}")
            expired += 1
        except store.AlreadyApplied:
            pass
    return expired


def _expire(match_id: str, clock: Clock) -> None:
    match = stores.matches().get(match_id)
    if match is None or match.status != "pending":
        return
    tx = stores.new_tx()
    stores.matches().stage_settle(tx, match, "expired")
    sides = ((match.tx0_hash, match.tx1_hash, match.forward_quantity, match.backward_quantity),
             (match.tx1_hash, match.tx0_hash, match.backward_quantity, match.forward_quantity))
    for tx_hash, other, gave, got in sides:
        _give_back(tx, get_order(tx_hash, match.market), other, gave, got, clock)
    tx.commit(f"expire_match:{match.id}", "expire_match", match.id, clock.now_us(), clock.block_index())
    log.info("match expired", extra={"match": match.id})


MAX_EXPIRED_WITH = 32  # unpaid expiries an order survives; at the last it closes (its item stays small)


def _give_back(tx, order: Order, other: str, gave: int, got: int, clock: Clock) -> None:
    """Return what the match took to the order, re-opening it if the match had closed it.
    The two orders never trade with each other again (`expired_with`). An order that has
    seen `MAX_EXPIRED_WITH` of its matches expire unpaid is closed instead (expired, its
    escrow returned), so `expired_with` stays bounded and the order cannot be farmed."""
    escrowed = get_asset(order.give_asset).settlement == "ledger"
    now_us = clock.now_us()
    never_again = order.expired_with | {other}
    worn_out = len(order.expired_with) + 1 >= MAX_EXPIRED_WITH
    if order.status in ("open", "filled") and worn_out:
        left = (order.give_remaining if order.status == "open" else 0) + gave  # a filled one holds `gave`
        stores.orders().stage_change(tx, order, closed(order, "expired", now_us, expired_with=never_again,
                                                       give_remaining=left, get_remaining=order.get_remaining + got))
        if escrowed and left:
            tx.move(order.source, order.give_asset, available=left, locked=-left)
        return
    if order.status == "open":
        stores.orders().stage_change(tx, order, replace(
            order, give_remaining=order.give_remaining + gave, get_remaining=order.get_remaining + got,
            updated_us=now_us, expired_with=never_again))
        return
    if order.status == "filled" and order.expires_at > clock.now():
        # Its leftover was returned when it closed; the match's escrow is all it holds now.
        stores.orders().stage_change(tx, order, reopened(
            order, expired_with=never_again, give_remaining=gave, get_remaining=order.get_remaining + got,
            updated_us=now_us))
        return
    stores.orders().stage_change(tx, order, replace(order, expired_with=never_again, updated_us=now_us))
    if escrowed and gave:  # closed meanwhile: the escrow goes back to its owner
        tx.move(order.source, order.give_asset, available=gave, locked=-gave)
