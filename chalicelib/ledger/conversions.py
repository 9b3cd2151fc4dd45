"""The converter: a deposit to a converter address (or memo) is converted and sent out.

Accounting (the journal explains every step; `audit()` conservation holds at every moment):

1. map (`new -> mapped`), one transaction: the deposit is marked `mapped`, the
   `Conversion` is put (`queued`, with `to_amount`, `ex_fee`, `tx_fee`), and the converter's
   treasury account (`LAMBDEX_CONVERTER_ACCOUNT`) is credited the deposit's `from_coin`
   (journal kind `conversion_in`: value comes in, like a deposit).
2. start (`queued -> sending`), one transaction keyed `conversion_out:<deposit>`: from
   here on the conversion may have been sent, so it is never queued again.
3. send: the chain adapter sends `to_amount` of `to_coin` from the converter's hot wallet,
   keyed by `f"conversion:{id}"` (idempotent), then one transaction marks the conversion
   `sent` with its `to_txid` and the deposit `conv`. A crash, an unknown outcome or a
   failed send (an empty hot wallet, say) leaves the conversion `sending` and the deposit
   `mapped`: a later pass (after its back-off) sends again with the same key, which returns the same
   transaction, so it is paid exactly once. A send the chain rejects (certainly not sent)
   ends the deposit `err` with the reason.

As in CryptoToken Converter itself, the outgoing coin is paid from the converter's own
wallet on its chain, not from a ledger balance: a conversion needs no pre-funded account,
and the ledger records what came in (the treasury keeps the whole deposit; the exchange
fee is the part of it not paid out in the other coin).
"""

from __future__ import annotations

import logging
from fractions import Fraction

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import settings
from chalicelib.errors import NotFound
from chalicelib.ledger import backoff, chain, counters, outgoing, store, stores
from chalicelib.ledger.assets import get_asset
from chalicelib.ledger.clock import Clock, iso_utc
from chalicelib.ledger.conversion_math import Quote, quote
from chalicelib.ledger.pairs import get_pair
from chalicelib.ledger.stores.assets import Asset
from chalicelib.ledger.stores.conversions import FILTERS as CONVERSION_FILTERS
from chalicelib.ledger.stores.conversions import Conversion
from chalicelib.ledger.stores.deposit_addresses import DepositAddress
from chalicelib.ledger.stores.deposits import Deposit
from chalicelib.ledger.stores.pairs import CoinPair

log = logging.getLogger("lambdex.conversions")


def treasury() -> str:
    return settings.converter_account()


def pair_quote(pair: CoinPair, source: Asset, target: Asset, from_amount: int) -> Quote:
    return quote(from_amount, source.decimals, target.decimals, Fraction(pair.exchange_rate),
                 Fraction(pair.ex_fee), target.network_fee)


def _to_memo(deposit: Deposit, source: Asset) -> str:
    if source.deposit == "memo":
        return f"Token Conversion from {source.name} account {deposit.from_account or deposit.to_account}"
    return f"Token Conversion via {source.name} deposit address {deposit.address}"


# -- 1. map -----------------------------------------------------------------------

def map_deposit(deposit: Deposit, target: DepositAddress, source: Asset, clock: Clock) -> tuple[str, str]:
    """Turn a `new` deposit to a converter address into a queued conversion.

    Returns ("mapped", "") or ("inv", reason); the caller marks an invalid deposit.
    Raises `store.AlreadyApplied` if another pass mapped it first.
    """
    pair = get_pair(deposit.coin, target.convert_to or "")
    if pair is None:
        return "inv", f"there is no coin pair {deposit.coin} -> {target.convert_to}"
    if source.deposit == "memo" and target.account and deposit.to_account != target.account:
        return "inv", f"sent to {deposit.to_account}, not to the converter account {target.account}"
    destination = get_asset(pair.to_coin)
    q = pair_quote(pair, source, destination, deposit.quantity)
    if not q.sendable:
        return "inv", f"amount too small to cover the fees (would send {q.to_amount} base units)"
    now = clock.now_us()
    conversion = Conversion(
        deposit.key, id=counters.next_id("conversion"), deposit_id=deposit.id, from_coin=deposit.coin,
        to_coin=pair.to_coin, from_address=deposit.from_account or deposit.address,
        to_address=target.destination, to_memo=_to_memo(deposit, source), from_amount=deposit.quantity,
        to_amount=q.to_amount, ex_fee=q.ex_fee, tx_fee=q.tx_fee, status="queued",
        pending_status="queued", due_us=now, created_us=now, updated_us=now,
    )
    tx = stores.new_tx()
    stores.deposits().stage_change(tx, deposit.key, "new", {
        "status": "mapped", "pending_status": "mapped", "owner": target.owner, "convert_to": pair.to_coin})
    stores.conversions().stage_create(tx, conversion)
    tx.move(treasury(), deposit.coin, available=deposit.quantity)
    tx.commit(f"conversion_in:{deposit.key}", "conversion_in", deposit.key, now, clock.block_index())
    log.info("deposit mapped to a conversion", extra={
        "deposit": deposit.key, "conversion": conversion.id, "to_amount": q.to_amount,
        "ex_fee": q.ex_fee, "tx_fee": q.tx_fee})
    return "mapped", ""


# -- 2 and 3. debit, send, finish -------------------------------------------------------

def get_conversion(deposit_key: str) -> Conversion | None:
    return stores.conversions().get(deposit_key, consistent=True)


def process_conversions(clock: Clock, limit: int = 100) -> dict[str, int]:
    """Start and send the conversions that are due (at most `limit` per state); safe to run
    concurrently and repeatedly. One that is not sent yet is deferred (`backoff`)."""
    counts = {"sent": 0, "retry": 0, "err": 0, "skipped": 0, "failed": 0}
    now_us = clock.now_us()
    due = [c for status in ("queued", "sending") for c in stores.conversions().due(status, now_us, limit)]
    return backoff.process_due("conversion", due, lambda c: c.deposit_key, lambda key: advance(key, clock),
                                stores.conversions().defer, now_us, counts)


def advance(key: str, clock: Clock) -> str:
    """Move one conversion as far as it goes: queued -> sending -> sent (or err)."""
    return outgoing.advance("conversion", key, lambda: get_conversion(key), "queued", "sending",
                            lambda c: _start_sending(c, clock), lambda c: _send(c, clock))


def _start_sending(conversion: Conversion, clock: Clock) -> None:
    tx = stores.new_tx()
    stores.conversions().stage_change(tx, conversion.deposit_key, "queued", {
        "status": "sending", "pending_status": "sending", "error": None, "updated_us": clock.now_us()})
    tx.commit(f"conversion_out:{conversion.deposit_key}", "conversion_out", conversion.deposit_key,
              clock.now_us(), clock.block_index())


def _send(conversion: Conversion, clock: Clock) -> str:
    destination = get_asset(conversion.to_coin)
    memo = conversion.to_memo if destination.deposit == "memo" else None
    try:
        txid = chain.adapter(clock).send(f"conversion:{conversion.id}", conversion.to_coin,
                                         conversion.to_address, memo, conversion.to_amount)
    except chain.ChainRejected as error:
        _reject(conversion, str(error), clock)
        return "err"
    except (chain.ChainError, ClientError, BotoCoreError) as error:
        log.warning("conversion send failed, will retry", extra={"conversion": conversion.id, "reason": str(error)})
        return "retry"
    tx = stores.new_tx()
    stores.conversions().stage_change(tx, conversion.deposit_key, "sending", {
        "status": "sent", "to_txid": txid, "pending_status": None, "error": None, "updated_us": clock.now_us()})
    stores.deposits().stage_change(tx, conversion.deposit_key, "mapped", {
        "status": "conv", "pending_status": None, "processed_at": iso_utc(clock.now_us())})
    try:
        tx.commit(f"conversion_sent:{conversion.deposit_key}", "conversion_sent", conversion.deposit_key,
                  clock.now_us(), clock.block_index())
    except store.AlreadyApplied:
        return "skipped"
    log.info("conversion sent", extra={"conversion": conversion.id, "txid": txid, "to_amount": conversion.to_amount})
    return "sent"


def _reject(conversion: Conversion, reason: str, clock: Clock) -> None:
    tx = stores.new_tx()
    stores.conversions().stage_change(tx, conversion.deposit_key, "sending", {
        "status": "rejected", "error": reason, "pending_status": None, "updated_us": clock.now_us()})
    stores.deposits().stage_change(tx, conversion.deposit_key, "mapped", {
        "status": "err", "error": reason, "pending_status": None, "processed_at": iso_utc(clock.now_us())})
    try:
        tx.commit(f"conversion_rejected:{conversion.deposit_key}", "conversion_rejected",
                  conversion.deposit_key, clock.now_us(), clock.block_index())
    except store.AlreadyApplied:
        return
    log.warning("conversion rejected by the chain", extra={"conversion": conversion.id, "reason": reason})


# -- reads -------------------------------------------------------------------------

def conversion_by_id(conversion_id: int) -> Conversion:
    found = stores.conversions().by_id(conversion_id)
    if found is None:
        raise NotFound(f"no conversion {conversion_id}")
    return found


def list_conversions(filters: dict[str, str], limit: int, offset: int) -> list[Conversion]:
    """Conversions by id, filtered; the first filter given picks the index (no Scan)."""
    wanted = {k: (v.upper() if k in ("to_coin", "from_coin") else v) for k, v in filters.items() if v}
    first = next((name for name in CONVERSION_FILTERS if name in wanted), None)
    # bounded like the deposit list: at most this many items are read past the page
    rows = stores.conversions().listing(first, wanted[first] if first else "", offset + limit + LIST_READ_SLACK)
    return _page((c for c in rows if all(getattr(c, k) == v for k, v in wanted.items())), limit, offset)


LIST_READ_SLACK = 1000


def _page(rows, limit: int, offset: int) -> list:
    out = []
    for index, row in enumerate(rows):
        if index >= offset + limit:
            break
        if index >= offset:
            out.append(row)
    return out


CONVERSION_STATUSES = ("queued", "sending", "sent")
ADMIN_CONVERSION_FILTERS = ("to_address", "to_coin", "from_coin", "from_address")


def admin_conversions(limit: int, cursor: str | None, filters: dict[str, str], status: str | None = None):
    """Newest first; the first filter given picks the index, the others (and status) filter."""
    from chalicelib.errors import InvalidInput

    if status is not None and status not in CONVERSION_STATUSES:
        raise InvalidInput(f"status is one of {list(CONVERSION_STATUSES)}", field="status")
    wanted = {k: (v.upper() if k.endswith("_coin") else v) for k, v in filters.items() if v}
    first = next((k for k in ADMIN_CONVERSION_FILTERS if k in wanted), None)

    def keep(c: Conversion) -> bool:
        return (status is None or c.status == status) and all(getattr(c, k) == v for k, v in wanted.items())

    return stores.conversions().page(first, wanted[first] if first else "", limit, cursor, keep)
