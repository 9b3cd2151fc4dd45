"""Observed incoming transfers: recorded once, then credited once by the scheduler.

A deposit is unique by (coin, txid, vout); posting it again is harmless (only a higher
confirmation count is taken). The scheduler credits confirmed `new` deposits to the
owner of the deposit address or memo, or to the address itself when it is no
registered deposit address; an unknown memo ends `inv` and credits nobody. A deposit
to a converter address or memo (purpose `convert`) is handed to `conversions` instead.

The scheduler takes deposits in due order (`stores.deposits().due`). One it cannot finish
(it failed, or waits for confirmations) is deferred by a back-off that doubles per attempt
(`backoff.retry_delay_us`), so however many such deposits there are, they never stand in front of
the others; a higher confirmation count makes a waiting deposit due at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib import settings
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.ledger import addresses, backoff, counters, store, stores
from chalicelib.ledger.addresses import canonical_address
from chalicelib.ledger.assets import get_asset
from chalicelib.ledger.clock import Clock, iso_utc
from chalicelib.ledger.stores.assets import Asset
from chalicelib.ledger.stores.deposit_addresses import DepositAddress
from chalicelib.ledger.stores.deposits import FILTERS as DEPOSIT_FILTERS
from chalicelib.ledger.stores.deposits import Deposit, deposit_key

log = logging.getLogger("lambdex.deposits")


@dataclass
class ObservedTransfer:
    coin: str
    txid: str
    quantity: int
    vout: int = 0
    address: str | None = None
    to_account: str | None = None
    memo: str | None = None
    from_account: str | None = None
    confirmations: int = 1
    tx_timestamp: str | None = None
    match_id: str | None = None


def record_deposit(observed: ObservedTransfer, clock: Clock) -> tuple[Deposit, bool]:
    """Store the transfer as `new` (or return the one stored before); True if new."""
    asset = get_asset(observed.coin)
    _check_destination(asset, observed)
    key = deposit_key(asset.name, observed.txid, observed.vout)
    existing = _get(key)
    if existing is None:
        now = clock.now_us()
        deposit = Deposit(
            key,
            id=counters.next_id("deposit"),
            coin=asset.name,
            txid=observed.txid,
            vout=observed.vout,
            address=observed.address,
            to_account=observed.to_account,
            memo=observed.memo,
            from_account=observed.from_account,
            quantity=observed.quantity,
            confirmations=observed.confirmations,
            tx_timestamp=observed.tx_timestamp,
            match_id=observed.match_id,
            status="new",
            pending_status="new",
            due_us=now,
            created_us=now,
        )
        if stores.deposits().create(deposit):
            log.info("deposit recorded", extra={"deposit": key, "quantity": observed.quantity})
            return deposit, True
        existing = _get(key)  # a concurrent post of the same transfer won the race
        assert existing is not None
    _check_same_transfer(existing, observed)
    if observed.confirmations > existing.confirmations:
        stores.deposits().raise_confirmations(key, observed.confirmations, clock.now_us())
        existing = _get(key) or existing
    return existing, False


def _get(key: str) -> Deposit | None:
    return stores.deposits().get(key, consistent=True)


def _check_destination(asset: Asset, observed: ObservedTransfer) -> None:
    if asset.deposit == "memo":
        if not observed.to_account:
            raise InvalidInput(f"{asset.name} deposits are addressed by to_account (and memo)", field="to_account")
    elif not observed.address:
        raise InvalidInput(f"{asset.name} deposits are addressed by address", field="address")


def _check_same_transfer(existing: Deposit, observed: ObservedTransfer) -> None:
    same = (
        existing.quantity == observed.quantity
        and existing.address == observed.address
        and existing.to_account == observed.to_account
        and existing.memo == observed.memo
    )
    if not same:
        raise Conflict(
            f"transfer {existing.key} was recorded before with other details; it cannot change",
            field="txid",
        )


def pending_deposits(status: str = "new", limit: int = 100) -> list[Deposit]:
    return stores.deposits().pending(status, limit)


def process_new_deposits(clock: Clock, limit: int = 100) -> dict[str, int]:
    """Credit (or reject) confirmed new deposits that are due, at most `limit`; safe to run
    concurrently and repeatedly. One that fails or waits is deferred (`backoff`)."""
    counts = {"credited": 0, "mapped": 0, "inv": 0, "waiting": 0, "skipped": 0, "failed": 0}
    now_us = clock.now_us()
    # handle_new_deposit is looked up at each call: tests inject failures by replacing it
    return backoff.process_due("deposit", stores.deposits().due(now_us, limit), lambda d: d.key,
                               lambda key: handle_new_deposit(key, clock), stores.deposits().defer, now_us, counts,
                               unfinished=("waiting",))


def handle_new_deposit(key: str, clock: Clock) -> str:
    def attempt() -> str:
        deposit = _get(key)
        if deposit is None or deposit.status != "new":
            return "skipped"
        asset = get_asset(deposit.coin)
        if deposit.confirmations < asset.confirmations_required:
            return "waiting"
        if deposit.match_id:
            from chalicelib.ledger.external import pay_match

            return pay_match(deposit, clock)
        target = deposit_target(deposit, asset)
        if target is not None and target.purpose == "convert":
            from chalicelib.ledger import conversions

            outcome, reason = conversions.map_deposit(deposit, target, asset, clock)
            if outcome == "inv":
                mark_invalid(deposit, reason, clock)
            return outcome
        owner, reason = resolve_owner(deposit, asset)
        if owner is None:
            mark_invalid(deposit, reason, clock)
            return "inv"
        credit(deposit, owner, clock)
        return "credited"

    try:
        return store.run(attempt, what=f"deposit {key}")
    except store.AlreadyApplied:
        return "skipped"


def resolve_owner(deposit: Deposit, asset: Asset) -> tuple[str | None, str]:
    """The account a deposit belongs to, or (None, why not)."""
    if asset.deposit == "memo":
        if not deposit.memo:
            return deposit.to_account, ""
        target = addresses.of_memo(asset.name, deposit.memo)
        if target is None:
            return None, f"unknown memo {deposit.memo!r}"
        if deposit.to_account and target.account and deposit.to_account != target.account:
            # a memo only means something on the account it was issued for
            return None, f"memo {deposit.memo!r} is for account {target.account!r}, not {deposit.to_account!r}"
        return target.owner, ""
    target = addresses.of_address(asset.name, deposit.address) if deposit.address else None
    return (target.owner if target else canonical_address(deposit.address)), ""


def deposit_target(deposit: Deposit, asset: Asset) -> DepositAddress | None:
    """The registered deposit address (or memo) the deposit was sent to, if any."""
    if asset.deposit == "memo":
        return addresses.of_memo(asset.name, deposit.memo) if deposit.memo else None
    return addresses.of_address(asset.name, deposit.address) if deposit.address else None


def credit(deposit: Deposit, owner: str, clock: Clock) -> None:
    tx = stores.new_tx()
    stores.deposits().stage_change(tx, deposit.key, "new", {
        "status": "credited", "owner": owner, "processed_at": iso_utc(clock.now_us()), "pending_status": None})
    tx.move(owner, deposit.coin, available=deposit.quantity)
    tx.commit(f"deposit:{deposit.key}", "deposit", deposit.key, clock.now_us(), clock.block_index())
    log.info("deposit credited", extra={"deposit": deposit.key, "owner": owner, "quantity": deposit.quantity})


def mark_invalid(deposit: Deposit, reason: str, clock: Clock) -> None:
    marked = stores.deposits().change(deposit.key, "new", {
        "status": "inv", "error": reason, "processed_at": iso_utc(clock.now_us()), "pending_status": None})
    if not marked:
        raise store.StaleRead(f"deposit {deposit.key} changed while it was being marked invalid")
    log.info("deposit invalid", extra={"deposit": deposit.key, "reason": reason})


def get_deposit(key: str) -> Deposit | None:
    return _get(key)


def deposits_of(owner: str, limit: int = 100) -> list[Deposit]:
    return stores.deposits().of_owner(owner, limit)


def deposit_by_id(deposit_id: int) -> Deposit:
    found = stores.deposits().by_id(deposit_id)
    if found is None:
        raise NotFound(f"no deposit {deposit_id}")
    return found


LIST_READ_SLACK = 1000


def is_converter_deposit(deposit: Deposit) -> bool:
    """Whether a deposit is the converter's (public in its deposit list), not a wallet's:
    mapped/converted/failed/refunded ones are, and the funding of its treasury; any other
    credited one is a wallet's (or pays a match); a new or invalid one is the converter's if it
    went to a converter address or memo, to its treasury, or names a memo nobody was given
    (it cannot be a wallet's); any other goes to a wallet."""
    treasury = settings.converter_account()
    if deposit.status == "credited":
        return deposit.owner == treasury  # funding of the converter's own treasury
    if deposit.status in ("new", "inv"):
        if deposit.match_id:
            return False
        target = deposit_target(deposit, get_asset(deposit.coin))
        if target is not None:
            return target.purpose == "convert"
        return bool(deposit.memo) or treasury in (deposit.address, deposit.to_account)
    return True


def list_deposits(filters: dict[str, str], limit: int, offset: int) -> list[Deposit]:
    """The converter's deposits by id, filtered; the first filter given picks the index (no
    Scan). Wallet deposits are private: they are left out (`is_converter_deposit`)."""
    wanted = {k: v for k, v in filters.items() if k in DEPOSIT_FILTERS and v}
    first = next(iter(wanted), None)
    # bounded: at most this many items are read past the page, however many wallet ones sit in between
    read_bound = offset + limit + LIST_READ_SLACK
    rows = stores.deposits().listing(first, wanted[first] if first else "", read_bound)
    out: list[Deposit] = []
    listed = (d for d in rows if all(getattr(d, k) == v for k, v in wanted.items()) and is_converter_deposit(d))
    for index, deposit in enumerate(listed):
        if index >= offset + limit:
            break
        if index >= offset:
            out.append(deposit)
    return out


# -- operator changes: reject or refund ----------------------------------------------------

UNCREDITED = ("new", "inv")  # statuses in which the deposit's value never entered a ledger balance


def reject_deposit(key: str, action, clock: Clock) -> Deposit:
    """A `new` deposit is never credited: it ends `inv` with the operator's reason."""
    from chalicelib.ledger import actions

    deposit = _require(key)
    if deposit.status != "new":
        raise Conflict(f"deposit {key} is {deposit.status}: only a new deposit can be rejected", field="status")
    tx = stores.new_tx()
    stores.deposits().stage_change(tx, key, "new", {
        "status": "inv", "error": f"rejected by {action.operator}: {action.reason}",
        "processed_at": iso_utc(clock.now_us()), "pending_status": None,
    }, on_fail=Conflict(f"deposit {key} changed meanwhile", field="status"))
    actions.commit(tx, "deposit_reject", key, action, clock)
    return _require(key)


def refund_deposit(key: str, address: str, memo: str | None, action, clock: Clock) -> Deposit:
    """Send a deposit's coins back to `address`: ends `refund` with the `refund_txid`.

    One transaction marks it `refund` (and, if it was credited, takes the quantity back
    from the owner's available balance: journal kind `deposit_refund`, value leaves the
    ledger); then the chain adapter sends it keyed `deposit_refund:<key>`. If the send
    fails, the same request again sends it again under the same key (the same transfer)."""
    from chalicelib.ledger import actions, addresses, chain

    deposit = _require(key)
    asset = get_asset(deposit.coin)
    if deposit.status == "refund":
        if (deposit.refund_address, deposit.refund_memo) != (address, memo):
            raise Conflict(f"deposit {key} is being refunded to {deposit.refund_address}", field="address")
    else:
        if deposit.status not in (*UNCREDITED, "credited") or deposit.match_id:
            raise Conflict(f"deposit {key} is {deposit.status}: only a new, inv or credited deposit (not a "
                           f"converter's or a match payment) can be refunded", field="status")
        if not addresses.destination_ok(asset, address):
            raise InvalidInput(f"{address!r} is not a valid {asset.name} address", field="address")
        if memo is not None and asset.deposit != "memo":
            raise InvalidInput(f"{asset.name} transfers take no memo", field="memo")
        tx = stores.new_tx()
        stores.deposits().stage_change(tx, key, deposit.status, {
            "status": "refund", "refund_address": address, **({"refund_memo": memo} if memo is not None else {}),
            "processed_at": iso_utc(clock.now_us()), "pending_status": None,
        }, on_fail=Conflict(f"deposit {key} changed meanwhile", field="status"))
        if deposit.status == "credited":
            tx.move(deposit.owner, deposit.coin, available=-deposit.quantity)
        actions.commit(tx, "deposit_refund", key, action, clock)
    if deposit.refund_txid is None:
        try:
            txid = chain.adapter(clock).send(f"deposit_refund:{key}", deposit.coin, address, memo, deposit.quantity)
        except chain.ChainError as error:
            from chalicelib.errors import Busy

            raise Busy(f"the refund of {key} is recorded but its send failed ({error}): "
                       "send the same request again") from error
        stores.deposits().change(key, "refund", {"refund_txid": txid})
    return _require(key)


def _require(key: str) -> Deposit:
    deposit = _get(key)
    if deposit is None:
        raise NotFound(f"no deposit {key}")
    return deposit
