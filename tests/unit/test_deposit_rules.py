"""Deposits and withdrawals on in-memory stores (no database): a transfer is credited
once, a withdrawal is sent once, and the scheduler's passes make progress past what they
cannot finish (failing or unconfirmed deposits, withdrawals whose send fails are backed
off, never read in front of the others)."""

from __future__ import annotations

import pytest

from chalicelib.errors import Conflict
from chalicelib.ledger import assets, backoff, balances, chain, deposits, withdrawals
from chalicelib.ledger.assets import Asset
from chalicelib.ledger.deposits import ObservedTransfer


@pytest.fixture
def ltc(memory, clock):
    return assets.create_asset(Asset("LTC", decimals=8, confirmations_required=1, network_fee=2,
                                                address_pattern=r"^L[a-z]+$"), clock)


def observe(txid: str, quantity: int = 10, address: str = "alice", confirmations: int = 1) -> ObservedTransfer:
    return ObservedTransfer(coin="LTC", txid=txid, quantity=quantity, address=address, confirmations=confirmations)


def available(account: str) -> int:
    found = balances.get_balance(account, "LTC")
    return found.available if found else 0


def test_a_transfer_is_recorded_and_credited_once(ltc, clock):
    first, created = deposits.record_deposit(observe("t1"), clock)
    again, created_again = deposits.record_deposit(observe("t1"), clock)
    assert (created, created_again, again.key) == (True, False, first.key)
    with pytest.raises(Conflict):
        deposits.record_deposit(observe("t1", quantity=11), clock)
    assert deposits.process_new_deposits(clock)["credited"] == 1
    assert deposits.process_new_deposits(clock)["credited"] == 0
    assert deposits.handle_new_deposit(first.key, clock) == "skipped"  # a redelivered pass
    assert available("alice") == 10
    assert deposits.get_deposit(first.key).status == "credited"
    assert deposits.pending_deposits("new") == []


def test_more_failing_deposits_than_a_pass_reads_do_not_starve_a_good_one(ltc, clock, monkeypatch):
    for i in range(130):
        deposits.record_deposit(observe(f"poison-{i:03d}"), clock)
    clock.advance(1)
    good, _ = deposits.record_deposit(observe("good", quantity=7, address="bob"), clock)
    handle = deposits.handle_new_deposit

    def poisoned(key, at):
        if "poison" in key:
            raise RuntimeError("injected: a deposit the code cannot handle")
        return handle(key, at)

    monkeypatch.setattr(deposits, "handle_new_deposit", poisoned)
    passes = []
    while available("bob") == 0:
        assert len(passes) < 3, passes  # bounded: the head's failures are deferred, the pass reads on
        passes.append(deposits.process_new_deposits(clock, limit=100))
    assert passes[0]["failed"] == 100 and passes[0]["credited"] == 0
    assert passes[-1]["credited"] == 1 and len(passes) == 2
    assert deposits.get_deposit(good.key).status == "credited" and available("bob") == 7
    # the failing ones are still there, each tried again once its back-off has passed
    assert deposits.process_new_deposits(clock, limit=100) == {
        "credited": 0, "mapped": 0, "inv": 0, "waiting": 0, "skipped": 0, "failed": 0}
    clock.advance(backoff.retry_delay_us(1) / 1_000_000)
    assert deposits.process_new_deposits(clock, limit=200)["failed"] == 130


def test_unconfirmed_deposits_wait_behind_and_a_confirmation_makes_one_due_at_once(ltc, clock):
    for i in range(120):
        deposits.record_deposit(observe(f"dust-{i:03d}", confirmations=0), clock)
    clock.advance(1)
    deposits.record_deposit(observe("real", address="carol"), clock)
    first = deposits.process_new_deposits(clock, limit=100)
    second = deposits.process_new_deposits(clock, limit=100)
    assert (first["waiting"], second["waiting"], second["credited"]) == (100, 20, 1)
    assert available("carol") == 10
    deposits.record_deposit(observe("dust-007", confirmations=3), clock)  # its confirmations arrive
    assert deposits.process_new_deposits(clock, limit=100)["credited"] == 1
    assert available("alice") == 10


def test_the_back_off_doubles_up_to_its_cap():
    delays = [backoff.retry_delay_us(n) // 1_000_000 for n in (1, 2, 3, 4, 5, 6, 50)]
    assert delays == [30, 60, 120, 240, 480, 900, 900]


def test_a_withdrawal_is_locked_debited_sent_once_or_refunded(ltc, clock):
    deposits.record_deposit(observe("fund", quantity=100), clock)
    deposits.process_new_deposits(clock)
    sent = withdrawals.request_withdrawal("alice", ltc, "Laddress", 30, clock)
    assert (available("alice"), balances.get_balance("alice", "LTC").locked) == (68, 32)  # 30 + the fee
    assert withdrawals.process_withdrawals(clock)["sent"] == 1
    assert withdrawals.process_withdrawals(clock)["sent"] == 0
    done = withdrawals.get_withdrawal(sent.id)
    assert (done.status, done.txid) == ("sent", chain.LocalAdapter.txid_of(f"withdrawal:{sent.id}"))
    assert chain.outbox(f"withdrawal:{sent.id}").quantity == 30
    assert balances.get_balance("alice", "LTC").locked == 0

    class Refusing:
        def send(self, *args):
            raise chain.ChainRejected("no such address")

    clock.advance(1)
    refused = withdrawals.request_withdrawal("alice", ltc, "Lother", 10, clock)
    chain.use(Refusing())
    try:
        assert withdrawals.process_withdrawals(clock)["refunded"] == 1
    finally:
        chain.use(None)
    assert withdrawals.get_withdrawal(refused.id).status == "refunded"
    assert (available("alice"), balances.get_balance("alice", "LTC").locked) == (68, 0)
    assert [w.id for w in withdrawals.withdrawals_of("alice")] == [refused.id, sent.id]


def test_withdrawals_whose_send_keeps_failing_do_not_starve_a_later_one(ltc, clock):
    deposits.record_deposit(observe("fund", quantity=10_000), clock)
    deposits.process_new_deposits(clock)
    stuck = [withdrawals.request_withdrawal("alice", ltc, "Lstuck", 1, clock) for _ in range(120)]
    clock.advance(1)
    good = withdrawals.request_withdrawal("alice", ltc, "Lgood", 5, clock)
    local = chain.LocalAdapter(clock)

    class NodeDownFor:
        def send(self, transfer_id, coin, to_address, memo, quantity):
            if to_address == "Lstuck":
                raise chain.ChainError("node unreachable")  # an unknown outcome: kept, retried
            return local.send(transfer_id, coin, to_address, memo, quantity)

    chain.use(NodeDownFor())
    try:
        passes = []
        while withdrawals.get_withdrawal(good.id).status != "sent":
            assert len(passes) < 3, passes
            passes.append(withdrawals.process_withdrawals(clock, limit=100))
        assert passes[0]["retry"] == 100 and [p["sent"] for p in passes] == [0, 1]
        assert {withdrawals.get_withdrawal(w.id).status for w in stuck} == {"signed"}  # debited, waiting to send
        clock.advance(backoff.retry_delay_us(1) / 1_000_000)
        assert withdrawals.process_withdrawals(clock, limit=200)["retry"] == 120
    finally:
        chain.use(None)
    clock.advance(backoff.retry_delay_us(2) / 1_000_000)
    assert withdrawals.process_withdrawals(clock, limit=200)["sent"] == 120  # the node is back: each sent once
    assert withdrawals.process_withdrawals(clock, limit=200)["sent"] == 0
