"""Limits on orders that give an externally settled asset (Counterparty's BTC).

Nothing is escrowed for an externally settled side: the payer pays outside the ledger
after the match, or never. Without a limit an account with no BTC at all could cross
every seller's book and lock their escrow in pending matches for MATCH_EXPIRE_BLOCKS,
again and again. So an order that would give an externally settled asset is refused
(403, in the dialect's shape) when its account already has

- `LAMBDEX_EXTERNAL_MAX_OPEN_ORDERS` (3) open orders giving an externally settled asset,
- `LAMBDEX_EXTERNAL_MAX_PENDING_MATCHES` (3) pending matches it has to pay, or
- `LAMBDEX_EXTERNAL_MAX_DEFAULTS` (1) matches it had to pay that expired unpaid within the
  last `LAMBDEX_EXTERNAL_DEFAULT_WINDOW` seconds (86400): a default costs the defaulter
  its access to externally settled orders for that long.

No bond is posted (an account need not hold any ledger asset to buy with BTC): the cost
of defaulting is the lock-out, not money. Every count is a bounded Query of an index of the
account's own items (its open orders; its matches of the recent past, by time), never a Scan.
"""

from __future__ import annotations

import itertools

from chalicelib import settings
from chalicelib.errors import Forbidden
from chalicelib.ledger import stores
from chalicelib.ledger.assets import get_asset
from chalicelib.ledger.clock import Clock

READ_BOUND = 1000  # items one count reads at most
PENDING_WINDOW_BLOCKS = 40  # a pending match expires after 20 blocks; twice that covers a late scheduler


class ExternalLimit(Forbidden):
    """Too many unpaid obligations on externally settled assets."""


def _limit(name: str) -> int:
    return int(settings.get(name))


def _is_external(asset: str) -> bool:
    return get_asset(asset).settlement == "external"


def open_external_orders(source: str) -> int:
    found = stores.orders().open_of_source(source, limit=READ_BOUND)
    return sum(1 for order in found if order.status == "open" and _is_external(order.give_asset))


def _matches_to_pay(source: str, since_us: int):
    """The account's matches since `since_us` in which it pays the external side."""
    as_tx0 = stores.matches().of_address(source, "tx0", since_us=since_us)
    as_tx1 = stores.matches().of_address(source, "tx1", since_us=since_us)
    for match in itertools.islice(itertools.chain(as_tx0, as_tx1), READ_BOUND):
        # tx0 gives forward_asset, tx1 gives backward_asset
        gives = match.forward_asset if match.tx0_address == source else match.backward_asset
        if _is_external(gives):
            yield match


def pending_matches(source: str, clock: Clock) -> int:
    since = clock.now_us() - PENDING_WINDOW_BLOCKS * settings.block_seconds() * 1_000_000
    return sum(1 for m in _matches_to_pay(source, since) if m.status == "pending")


def defaults(source: str, clock: Clock) -> int:
    since = clock.now_us() - _limit("LAMBDEX_EXTERNAL_DEFAULT_WINDOW") * 1_000_000
    return sum(1 for m in _matches_to_pay(source, since) if m.status == "expired")


def check_external_order(source: str, give_asset: str, tx_hash: str | None, clock: Clock) -> None:
    """Refuse (ExternalLimit, 403) a new order of `source` giving `give_asset` if that asset
    is externally settled and the account is at one of its limits. A retry of an order that
    exists already (same id) is never refused here: placement returns it."""
    if not _is_external(give_asset):
        return
    reason = None
    if defaults(source, clock) >= _limit("LAMBDEX_EXTERNAL_MAX_DEFAULTS"):
        reason = (f"{source} left a match on an externally settled asset unpaid in the last "
                  f"{_limit('LAMBDEX_EXTERNAL_DEFAULT_WINDOW')} s")
    elif pending_matches(source, clock) >= _limit("LAMBDEX_EXTERNAL_MAX_PENDING_MATCHES"):
        reason = f"{source} has {_limit('LAMBDEX_EXTERNAL_MAX_PENDING_MATCHES')} matches waiting for its payment"
    elif open_external_orders(source) >= _limit("LAMBDEX_EXTERNAL_MAX_OPEN_ORDERS"):
        reason = (f"{source} has {_limit('LAMBDEX_EXTERNAL_MAX_OPEN_ORDERS')} open orders giving an "
                  "externally settled asset")
    if reason is None or _exists(tx_hash):
        return
    raise ExternalLimit(f"{reason}: pay or cancel before placing another", field="give_asset")


def _exists(tx_hash: str | None) -> bool:
    if not tx_hash:
        return False
    return stores.orders().find(tx_hash.lower().removeprefix("0x")) is not None
