"""The stores' staged operator writes (DynamoDB and in-memory): a market change, a
freeze, a key created and another revoked, each committed with its journal entry; a
failed condition commits nothing."""

from __future__ import annotations

import pytest

from chalicelib.errors import Conflict
from chalicelib.ledger import store
from chalicelib.ledger.actions import Action
from chalicelib.ledger.stores.api_keys import ApiKey
from chalicelib.ledger.stores.markets import Market

ACTION = Action("ops", "contract test")


def test_stage_update_changes_an_existing_market_only(backend):
    backend.markets.create(Market("ZRX-WETH", "ZRX", "WETH", fee="0.001", name="zrx"))
    tx = backend.new_tx()
    backend.markets.stage_update(tx, "ZRX-WETH", {"enabled": False, "fee": "0.002", "name": None})
    tx.commit("admin:1", "market_update", "ZRX-WETH", 1, action=ACTION)
    market = backend.markets.get("ZRX-WETH", consistent=True)
    assert (market.enabled, market.fee, market.name) == (False, "0.002", None)
    tx = backend.new_tx()
    backend.markets.stage_update(tx, "NOPE-WETH", {"enabled": False})
    with pytest.raises(store.StaleRead):
        tx.commit("admin:2", "market_update", "NOPE-WETH", 2, action=ACTION)
    assert backend.markets.get("NOPE-WETH") is None
    with pytest.raises(ValueError):
        backend.markets.stage_update(backend.new_tx(), "ZRX-WETH", {"seq": 9})


def test_stage_freeze_needs_the_balance_and_a_frozen_balance_refuses_debits(backend):
    tx = backend.new_tx()
    tx.move("alice", "ZRX", available=10)
    tx.commit("deposit:1", "deposit", "1", 1)
    tx = backend.new_tx()
    backend.balances.stage_freeze(tx, "alice", "ZRX", True)
    tx.commit("admin:1", "freeze", "alice#ZRX", 2, action=ACTION)
    assert backend.balances.get("alice", "ZRX", consistent=True).frozen is True
    debit = backend.new_tx()
    debit.move("alice", "ZRX", available=-1, locked=1)
    with pytest.raises(Exception, match="insufficient"):
        debit.commit("place:1", "place", "1", 3)
    tx = backend.new_tx()
    backend.balances.stage_freeze(tx, "bob", "ZRX", True)
    with pytest.raises(store.StaleRead):
        tx.commit("admin:2", "freeze", "bob#ZRX", 4, action=ACTION)
    assert backend.balances.get("bob", "ZRX") is None


def test_stage_create_and_revoke_rotate_a_key_in_one_commit(backend):
    old = ApiKey("a" * 64, "alice", ("read",), 1, "bot")
    backend.api_keys.create(old)
    new = ApiKey("b" * 64, "alice", ("read",), 2, "bot")
    tx = backend.new_tx()
    backend.api_keys.stage_create(tx, new)
    backend.api_keys.stage_revoke(tx, old.key_hash, 2, new.key_hash, Conflict("revoked"))
    tx.commit("admin:1", "apikey_rotate", old.key_hash, 2, action=ACTION)
    assert backend.api_keys.get(old.key_hash).revoked_us == 2
    assert backend.api_keys.get(old.key_hash).replaced_by == new.key_hash
    assert backend.api_keys.get(new.key_hash) == new
    again = ApiKey("c" * 64, "alice", ("read",), 3)
    tx = backend.new_tx()
    backend.api_keys.stage_create(tx, again)
    backend.api_keys.stage_revoke(tx, old.key_hash, 3, again.key_hash, Conflict("revoked before"))
    with pytest.raises(Conflict):
        tx.commit("admin:2", "apikey_rotate", old.key_hash, 3, action=ACTION)
    assert backend.api_keys.get(again.key_hash) is None  # all or nothing
