"""Withdrawals: requested by an account, sent by the scheduler through the chain adapter.

Accounting (conservation holds at every moment):

1. request (`pending`), one transaction: the withdrawal is put and `quantity + fee`
   moves from the account's `available` to its `locked` (journal kind `withdraw_lock`,
   an internal move). Too little available, a frozen balance or a bad address: nothing
   is written.
2. debit (`pending -> signed`), one transaction: `quantity + fee` leaves the account's
   `locked` (journal kind `withdraw`: value leaves the ledger).
3. send (`signed -> sent`): the chain adapter sends `quantity` keyed by
   `f"withdrawal:{id}"` (idempotent), then the withdrawal records its `txid`. A crash or
   an unknown outcome leaves it `signed`: a later pass (after its back-off) sends again with the same key and
   gets the same transaction. A send the chain rejects (certainly not sent) refunds
   `quantity + fee` to `available` (journal kind `withdraw_refund`) and ends `refunded`.

The fee is the coin's `network_fee`, paid to the network on top of `quantity`.
"""

from __future__ import annotations

import logging
import uuid

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import InvalidInput
from chalicelib.ledger import addresses, backoff, chain, outgoing, store, stores
from chalicelib.ledger.amounts import check_quantity
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.stores.assets import Asset
from chalicelib.ledger.stores.withdrawals import Withdrawal

log = logging.getLogger("lambdex.withdrawals")


def request_withdrawal(account: str, asset: Asset, address: str, quantity: int, clock: Clock,
                       memo: str | None = None) -> Withdrawal:
    check_quantity(quantity, "amount")
    if not addresses.destination_ok(asset, address):
        raise InvalidInput(f"{address!r} is not a valid {asset.name} address", field="address")
    if memo is not None and asset.deposit != "memo":
        raise InvalidInput(f"{asset.name} transfers take no memo", field="memo")
    total = quantity + asset.network_fee
    check_quantity(total, "amount")
    now = clock.now_us()
    withdrawal = Withdrawal(
        uuid.uuid4().hex, account=account, coin=asset.name, address=address, memo=memo, quantity=quantity,
        fee=asset.network_fee, status="pending", pending_status="pending", due_us=now, created_us=now,
        updated_us=now,
    )

    def attempt() -> Withdrawal:
        tx = stores.new_tx()
        stores.withdrawals().stage_create(tx, withdrawal)
        tx.move(account, asset.name, available=-total, locked=total)
        tx.commit(f"withdraw_lock:{withdrawal.id}", "withdraw_lock", withdrawal.id, now, clock.block_index())
        return withdrawal

    try:
        store.run(attempt, what=f"withdrawal {withdrawal.id}")
    except store.AlreadyApplied:
        pass  # a retried commit whose first response was lost
    log.info("withdrawal requested", extra={"withdrawal": withdrawal.id, "account": account,
                                            "coin": asset.name, "quantity": quantity})
    return withdrawal


def get_withdrawal(withdrawal_id: str) -> Withdrawal | None:
    return stores.withdrawals().get(withdrawal_id, consistent=True)


def withdrawals_of(account: str, limit: int = 100, offset: int = 0) -> list[Withdrawal]:
    return stores.withdrawals().of_account(account, offset + limit)[offset:offset + limit]


def process_withdrawals(clock: Clock, limit: int = 100) -> dict[str, int]:
    """Debit and send the withdrawals that are due (at most `limit` per state); safe to run
    concurrently and repeatedly. One that is not sent yet is deferred (`backoff`)."""
    counts = {"sent": 0, "retry": 0, "refunded": 0, "skipped": 0, "failed": 0}
    now_us = clock.now_us()
    due = [w for status in ("pending", "signed") for w in stores.withdrawals().due(status, now_us, limit)]
    return backoff.process_due("withdrawal", due, lambda w: w.id, lambda key: advance(key, clock),
                                stores.withdrawals().defer, now_us, counts)


def advance(withdrawal_id: str, clock: Clock) -> str:
    """Move one withdrawal as far as it goes: pending -> signed -> sent (or refunded)."""
    return outgoing.advance("withdrawal", withdrawal_id, lambda: get_withdrawal(withdrawal_id), "pending",
                            "signed", lambda w: _debit(w, clock), lambda w: _send(w, clock))


def _debit(withdrawal: Withdrawal, clock: Clock) -> None:
    tx = stores.new_tx()
    stores.withdrawals().stage_change(tx, withdrawal.id, "pending", {
        "status": "signed", "pending_status": "signed", "updated_us": clock.now_us()})
    total = withdrawal.quantity + withdrawal.fee
    tx.move(withdrawal.account, withdrawal.coin, locked=-total)
    tx.commit(f"withdraw:{withdrawal.id}", "withdraw", withdrawal.id, clock.now_us(), clock.block_index())


def _send(withdrawal: Withdrawal, clock: Clock) -> str:
    try:
        txid = chain.adapter(clock).send(f"withdrawal:{withdrawal.id}", withdrawal.coin, withdrawal.address,
                                         withdrawal.memo, withdrawal.quantity)
    except chain.ChainRejected as error:
        return _refund(withdrawal, str(error), clock)
    except (chain.ChainError, ClientError, BotoCoreError) as error:
        log.warning("withdrawal send failed, will retry", extra={"withdrawal": withdrawal.id, "reason": str(error)})
        return "retry"
    done = stores.withdrawals().change(withdrawal.id, "signed", {
        "status": "sent", "txid": txid, "pending_status": None, "updated_us": clock.now_us()})
    if not done:
        return "skipped"  # a concurrent pass recorded the same send
    log.info("withdrawal sent", extra={"withdrawal": withdrawal.id, "txid": txid})
    return "sent"


def _refund(withdrawal: Withdrawal, reason: str, clock: Clock) -> str:
    tx = stores.new_tx()
    stores.withdrawals().stage_change(tx, withdrawal.id, "signed", {
        "status": "refunded", "error": reason, "pending_status": None, "updated_us": clock.now_us()})
    tx.move(withdrawal.account, withdrawal.coin, available=withdrawal.quantity + withdrawal.fee)
    try:
        tx.commit(f"withdraw_refund:{withdrawal.id}", "withdraw_refund", withdrawal.id, clock.now_us(),
                  clock.block_index())
    except store.AlreadyApplied:
        return "skipped"
    log.warning("withdrawal refunded", extra={"withdrawal": withdrawal.id, "reason": reason})
    return "refunded"


WITHDRAWAL_STATUSES = ("pending", "signed", "sent", "refunded")


def list_withdrawals(limit: int, cursor: str | None, account: str | None = None, status: str | None = None,
                     coin: str | None = None):
    """Newest first, by the account's index or the all-withdrawals one; status and coin filter."""
    if status is not None and status not in WITHDRAWAL_STATUSES:
        raise InvalidInput(f"status is one of {list(WITHDRAWAL_STATUSES)}", field="status")

    def keep(w: Withdrawal) -> bool:
        return (status is None or w.status == status) and (coin is None or w.coin == coin.upper())

    return stores.withdrawals().page(account, limit, cursor, keep)
