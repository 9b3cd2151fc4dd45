"""Two scheduler runs at once, on DynamoDB Local, credit a deposit exactly once."""

from __future__ import annotations

import threading

from chalicelib.events import scheduler
from chalicelib.ledger import balances, deposits
from tests.support import audit_ok, post


def run_concurrently(functions):
    errors = []
    barrier = threading.Barrier(len(functions))

    def wrap(function):
        try:
            barrier.wait()
            function()
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=wrap, args=(f,)) for f in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)  # generous: four scheduler passes contending on a loaded machine
    assert not [t for t in threads if t.is_alive()], "a scheduler run did not finish"
    assert not errors, errors


def test_two_scheduler_runs_at_once_credit_each_deposit_once(ddb_client, ddb_ledger):
    assert post(ddb_client, "/admin/assets", {"name": "LTC", "decimals": 8}).status_code == 201
    for i in range(10):
        r = post(ddb_client, "/admin/deposits", {"coin": "LTC", "txid": f"tx{i}", "address": f"addr{i % 3}",
                                                 "quantity": 1000 + i})
        assert r.status_code == 201
    for _ in range(3):
        run_concurrently([lambda: scheduler.run(ddb_ledger)] * 4)
    expected = {f"addr{a}": sum(1000 + i for i in range(10) if i % 3 == a) for a in range(3)}
    assert {a: balances.get_balance(a, "LTC", consistent=True).available for a in expected} == expected
    assert deposits.pending_deposits("new") == []
    audit_ok()


def test_the_same_deposit_posted_concurrently_is_recorded_once(ddb_client, ddb_ledger):
    assert post(ddb_client, "/admin/assets", {"name": "LTC", "decimals": 8}).status_code == 201
    observed = deposits.ObservedTransfer(coin="LTC", txid="dup", quantity=5, address="carol")
    results = []
    run_concurrently([lambda: results.append(deposits.record_deposit(observed, ddb_ledger)[1])] * 4)
    assert sorted(results) == [False, False, False, True]
    run_concurrently([lambda: scheduler.run(ddb_ledger)] * 2)
    assert balances.get_balance("carol", "LTC", consistent=True).available == 5
    audit_ok()
