"""Orders: place (lock the give side), cancel, expire. Matching is in `settlement`.

An order's id is its `tx_hash` (64 lower-case hex characters; a 0x order's hash).
Placement is one transaction: the order put with `attribute_not_exists` plus the lock
of its give side plus its journal entry, so placing the same order twice is harmless.
"""

from __future__ import annotations

import hashlib
import logging
import random
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import observability
from chalicelib.errors import Busy, Conflict, Forbidden, InvalidInput, NotFound
from chalicelib.ledger import cache, db, external_limits, paging, store, stores
from chalicelib.ledger.amounts import check_quantity
from chalicelib.ledger.assets import get_asset, normalize_name
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.markets import find_market, get_market, market_of_pair
from chalicelib.ledger.matching import CAPS, is_dust
from chalicelib.ledger.stores.markets import Market
from chalicelib.ledger.stores.orders import STATUSES, Order, book_key, closed

log = logging.getLogger("lambdex.orders")

MAX_EXPIRATION = 8064  # blocks, as Counterparty
DEFAULT_EXPIRATION = MAX_EXPIRATION


@dataclass
class OrderRequest:
    source: str
    give_asset: str
    give_quantity: int
    get_asset: str
    get_quantity: int
    expiration: int = DEFAULT_EXPIRATION  # blocks
    expires_at: int | None = None  # unix seconds (0x): then the order lives until this, not `expiration`
    tx_hash: str | None = None  # client-chosen id / 0x order hash; generated when absent
    taker: str | None = None
    dialect: str = "counterparty"
    signed_order: dict[str, Any] | None = None
    fee_required: int = 0
    fee_provided: int = 0
    cap: str = "give"  # one of matching.CAPS: what limits the order (see matching's docstring)
    market: str | None = None  # the market the dialect's request names; else the one of the two assets
    client_order_id: str | None = None  # then tx_hash = client_order_hash(source, client_order_id)


PLACE_ATTEMPTS = 6  # a conflicting or throttled placement is tried again, then answered "busy" (503)


def client_order_hash(source: str, client_order_id: str) -> str:
    """The order id of a client order id: the same (account, id) is the same order, so a retry
    or a racing duplicate meets the placement's own attribute_not_exists guard."""
    return hashlib.sha256(f"client-order:{source}:{client_order_id}".encode()).hexdigest()


def market_for(give_asset: str, get_asset: str) -> tuple[Market, str]:
    """The one market trading these two assets (the markets' pair index: never a guess at
    reversed ids) and the order's side of it."""
    found = market_of_pair(give_asset, get_asset)
    if found is None:
        raise InvalidInput(f"no market trades {give_asset} against {get_asset}", field="get_asset")
    return found, "sell" if found.base == normalize_name(give_asset) else "buy"


def named_market(id: str, give_asset: str, get_asset: str) -> tuple[Market, str]:
    """The market the request names, and the order's side of it (no other id is tried)."""
    try:
        market = get_market(id)
    except NotFound:
        raise InvalidInput(f"no market {id}", field="market") from None
    if (market.base, market.quote) == (give_asset, get_asset):
        return market, "sell"
    if (market.base, market.quote) == (get_asset, give_asset):
        return market, "buy"
    raise InvalidInput(f"market {market.id} does not trade {give_asset} against {get_asset}", field="market")


_last_index = 0
_index_lock = threading.Lock()


def next_tx_index(clock: Clock, now_us: int | None = None) -> int:
    """Microseconds since the epoch, strictly increasing within a process.

    Arrival order with no shared counter (no hot item); two processes may draw the
    same number, and the book then orders those orders by tx_hash.
    """
    global _last_index
    with _index_lock:
        _last_index = max(clock.now_us() if now_us is None else now_us, _last_index + 1)
        return _last_index


def new_tx_hash() -> str:
    return hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def place_order(request: OrderRequest, clock: Clock) -> tuple[Order, bool]:
    """Lock the give side and open the order; (order, False) when it existed already.

    Conflicts and throttles are retried (bounded, jittered) with the same order id, so a
    retry after a commit whose answer was lost finds the order and returns it."""
    give, get = get_asset(request.give_asset), get_asset(request.get_asset)
    if give.name == get.name:
        raise InvalidInput("give_asset and get_asset must differ", field="get_asset")
    check_quantity(request.give_quantity, "give_quantity")
    check_quantity(request.get_quantity, "get_quantity")
    if request.cap not in CAPS:
        raise InvalidInput(f"cap must be one of {', '.join(CAPS)}", field="cap")
    if request.expires_at is None and not 0 < request.expiration <= MAX_EXPIRATION:
        raise InvalidInput(f"expiration must be 1..{MAX_EXPIRATION} blocks", field="expiration")
    if is_dust(request.give_quantity, request.give_quantity, request.get_quantity):
        raise InvalidInput("the order is too small to receive one base unit at its price", field="give_quantity")
    if request.market is not None:
        market, side = named_market(request.market, give.name, get.name)
    else:
        market, side = market_for(give.name, get.name)
    if not market.enabled:
        raise InvalidInput(f"market {market.id} is disabled", field="market")
    base_quantity = request.give_quantity if side == "sell" else request.get_quantity
    if base_quantity < market.min_amount:
        raise InvalidInput(f"amount is below the market minimum of {market.min_amount} base units", field="amount")
    if give.settlement == "external" and get.settlement == "external":
        raise InvalidInput("at least one side must be an asset the ledger holds", field="give_asset")
    external_limits.check_external_order(request.source, give.name, request.tx_hash, clock)  # nothing escrowed

    if request.client_order_id is not None:
        request.tx_hash = client_order_hash(request.source, request.client_order_id)
    tx_hash = (request.tx_hash or new_tx_hash()).lower().removeprefix("0x")
    now_us = clock.now_us()  # one instant for the whole operation
    now = now_us / 1_000_000
    block = clock.block_at(now)
    tx_index = next_tx_index(clock, now_us)
    if request.expires_at is not None:  # a 0x order lives until its own timestamp
        if request.expires_at <= now:
            raise InvalidInput("the order has already expired", field="expirationUnixTimestampSec")
        expires_at = request.expires_at
        expire_index = clock.block_at(expires_at)
    else:
        expire_index = block + request.expiration
        expires_at = clock.time_of_block(expire_index)
    expiration = expire_index - block
    order = Order(
        tx_hash=tx_hash, tx_index=tx_index, source=request.source,
        give_asset=give.name, give_quantity=request.give_quantity, give_remaining=request.give_quantity,
        get_asset=get.name, get_quantity=request.get_quantity, get_remaining=request.get_quantity,
        taker=request.taker, cap=request.cap, market=market.id, side=side, expires_at=int(expires_at),
        book_key=book_key(side, request.give_quantity, request.get_quantity, tx_index, tx_hash, request.taker),
        block_index=block, expiration=expiration, expire_index=expire_index,
        fee_required=request.fee_required, fee_required_remaining=request.fee_required,
        fee_provided=request.fee_provided, fee_provided_remaining=request.fee_provided,
        status="open", open_expires_at=int(expires_at), dialect=request.dialect,
        signed_order=request.signed_order, created_us=now_us, updated_us=now_us,
    )
    tx = stores.new_tx()
    stores.orders().stage_place(tx, order)
    if give.settlement == "ledger":  # an externally settled asset (BTC) is paid later, not escrowed
        tx.move(request.source, give.name, available=-request.give_quantity, locked=request.give_quantity)
    if request.taker and not market.restricted:  # settlement looks for restricted orders only where flagged
        stores.markets().stage_flag_restricted(tx, market.id)
    try:
        _commit_retrying(tx, tx_hash, now_us, block)
    except store.AlreadyApplied:
        existing = get_order(tx_hash, market.id)
        if (existing.source, existing.give_asset, existing.give_quantity, existing.get_asset,
                existing.get_quantity) != (request.source, give.name, request.give_quantity, get.name,
                                           request.get_quantity):
            raise Conflict(f"order {tx_hash} exists with other terms", field="tx_hash") from None
        return existing, False
    if request.taker and not market.restricted:
        cache.forget("market", market.id)  # this process sees the flag at once, others within MARKET_TTL
    log.info("order placed", extra={"order": tx_hash, "market": market.id, "side": side,
                                    "give": request.give_quantity, "get": request.get_quantity})
    observability.count("OrdersPlaced")
    return order, True


def _commit_retrying(tx, tx_hash: str, now_us: int, block: int) -> None:
    """Commit a placement, again after a conflict, a throttle or a lost answer (the order id
    and the journal entry make a repeat harmless); `Busy` (503) once the budget is spent."""
    for attempt in range(PLACE_ATTEMPTS):
        try:
            tx.commit(f"place:{tx_hash}", "place", tx_hash, now_us, block)
            return
        except (store.Retryable, store.StaleRead) as error:
            log.info("place retry", extra={"order": tx_hash, "attempt": attempt, "reason": str(error)})
        except ClientError as error:  # a transport-level failure botocore gave up on
            if error.response.get("Error", {}).get("Code") not in store.RETRYABLE_CODES:
                raise
            log.info("place retry", extra={"order": tx_hash, "attempt": attempt, "reason": str(error)})
        time.sleep(min(0.5, 0.01 * 2**attempt) * random.random())
    raise Busy(f"placing order {tx_hash} met contention {PLACE_ATTEMPTS} times, try again")


def get_order(tx_hash: str, market: str | None = None) -> Order:
    """By id; strongly consistent when the market is known, else through the hash index."""
    tx_hash = tx_hash.lower().removeprefix("0x")
    if not db.is_key(tx_hash):
        raise NotFound(f"no order {tx_hash}")
    if market is not None:
        found = stores.orders().get(normalize_name(market), tx_hash)
        if found is not None:
            return found
    found = stores.orders().find(tx_hash)
    if found is None:
        raise NotFound(f"no order {tx_hash}")
    if market is None:  # the index may lag: read the item itself
        return get_order(tx_hash, found.market)
    return found


def close_order(tx_hash: str, requester: str | None, status: str, clock: Clock, market: str | None = None,
                action=None) -> Order:
    """Cancel (requester must be the owner) or expire (requester None) an open order,
    unlocking what remains of its give side. An operator's cancel has requester None
    and its `action` (who and why) on the journal entry."""

    def attempt() -> Order:
        order = get_order(tx_hash, market)
        if requester is not None and order.source != requester:
            raise Forbidden("only the order's owner may cancel it")
        if order.status != "open":
            raise InvalidInput(f"order {order.tx_hash} is {order.status}, not open", field="id")
        now_us = clock.now_us()  # one instant for the whole operation
        after = closed(order, status, now_us)
        tx = stores.new_tx()
        stores.orders().stage_change(tx, order, after)
        if get_asset(order.give_asset).settlement == "ledger" and order.give_remaining:
            tx.move(order.source, order.give_asset, available=order.give_remaining, locked=-order.give_remaining)
        verb = "cancel" if status == "cancelled" else "expire"
        tx.commit(f"{verb}:{order.tx_hash}", verb, order.tx_hash, now_us, clock.block_at(now_us / 1_000_000),
                  action=action)
        log.info(f"order {status}", extra={"order": order.tx_hash, "refund": order.give_remaining})
        return after

    try:
        return store.run(attempt, what=f"close order {tx_hash}")
    except store.AlreadyApplied:
        return get_order(tx_hash, market)


def cancel_order(tx_hash: str, requester: str, clock: Clock, market: str | None = None) -> Order:
    return close_order(tx_hash, requester, "cancelled", clock, market)


def expire_due_orders(market: str, clock: Clock, limit: int = 100) -> int:
    """Expire the open orders of `market` whose expiry has passed (scheduler)."""
    due = stores.orders().due_to_expire(market, clock.now(), limit=limit)
    expired = 0
    for order in due:
        try:
            close_order(order.tx_hash, None, "expired", clock, market)
            expired += 1
        except InvalidInput:  # filled or cancelled meanwhile
            pass
    return expired


def orders_of_asset(asset: str, status: str | None, limit: int, offset: int) -> list[Order]:
    """Orders giving or getting `asset`, newest first; `status` None means every status."""
    name = normalize_name(asset)
    wanted = offset + limit
    found: list[Order] = []
    for wanted_status in [status] if status else STATUSES:
        found += stores.orders().of_asset(name, wanted_status, limit=wanted)
    found.sort(key=lambda o: (o.tx_index, o.tx_hash), reverse=True)
    return found[offset:offset + limit]


# -- operator cancels (bounded pages, resumable) -----------------------------------------

def admin_cancel(tx_hash: str, action, clock: Clock) -> Order:
    return close_order(tx_hash, None, "cancelled", clock, action=action)


def cancel_open_orders(action, clock: Clock, *, source: str | None = None, market: str | None = None,
                       limit: int = 50, cursor: str | None = None) -> tuple[list[Order], str | None]:
    """Cancel up to `limit` open orders of an account (`source`) or of a market; returns
    the orders cancelled and a cursor to go on with (None when none are left).

    Both lists are sparse indexes holding open orders only, so a cancelled order leaves
    them; the cursor still resumes after the last order read (the account's list is a
    GSI, which may show an order that has just closed: it is skipped)."""
    if (source is None) == (market is None):
        raise InvalidInput("give an account or a market", field="account")
    if source is not None:
        if not db.is_key(source):
            raise InvalidInput("not an account", field="account")
        found = stores.orders().page_open_of_source(source, limit, cursor)
    else:
        market_row = find_market(market or "")
        if market_row is None:
            raise NotFound(f"no market {market!r}")
        found = stores.orders().page_book(market_row.id, limit, cursor)
    cancelled = []
    for order in found.rows:
        try:
            cancelled.append(close_order(order.tx_hash, None, "cancelled", clock, order.market, action=action))
        except InvalidInput:  # filled, cancelled or expired since the index was read
            pass
    return cancelled, found.cursor


def admin_orders(limit: int, cursor: str | None, source: str | None, market: str | None,
                 status: str | None) -> paging.Page[Order]:
    """An account's orders, newest first (status filters), or a market's open orders, best first."""
    def keep(order: Order) -> bool:
        return status is None or order.status == status

    if source is not None:
        if not db.is_key(source):
            raise InvalidInput("not an account", field="account")
        return stores.orders().page_of_source(source, limit, cursor, keep)
    found = find_market(market or "")
    if found is None:
        raise NotFound(f"no market {market!r}")
    return stores.orders().page_book(found.id, limit, cursor, keep)
