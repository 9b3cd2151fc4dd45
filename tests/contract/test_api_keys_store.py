"""The API keys store contract (DynamoDB and in-memory)."""

from __future__ import annotations

import pytest

from chalicelib.errors import Conflict
from chalicelib.ledger.stores.api_keys import ApiKey

HASH = "a" * 64


def key(hash: str = HASH, account: str = "alice", created_us: int = 1, **fields) -> ApiKey:
    return ApiKey(hash, account, ("read", "trade"), created_us, **fields)


def test_get_returns_what_was_created(backend):
    created = key(label="bot")
    assert backend.api_keys.create(created) is True
    assert backend.api_keys.get(HASH) == created
    assert not created.revoked


def test_unknown_hashes_are_none(backend):
    assert backend.api_keys.get("b" * 64) is None
    assert backend.api_keys.get("") is None


def test_create_refuses_an_existing_hash(backend):
    backend.api_keys.create(key(account="alice"))
    assert backend.api_keys.create(key(account="mallory")) is False
    assert backend.api_keys.get(HASH).account == "alice"


def test_of_account_lists_oldest_first(backend):
    backend.api_keys.create(key("c" * 64, created_us=3))
    backend.api_keys.create(key("a" * 64, created_us=1))
    backend.api_keys.create(key("b" * 64, account="bob", created_us=2))
    assert [k.key_hash[0] for k in backend.api_keys.of_account("alice")] == ["a", "c"]
    assert backend.api_keys.of_account("nobody") == []


def revoke(backend, hash: str, now_us: int) -> None:
    tx = backend.new_tx()
    backend.api_keys.stage_revoke(tx, hash, now_us, None, Conflict("revoked before"))
    tx.commit(f"admin:{hash}:{now_us}", "apikey_revoke", hash, now_us)


def test_revoke_marks_once_and_keeps_the_key_listed(backend):
    backend.api_keys.create(key())
    revoke(backend, HASH, 50)
    assert backend.api_keys.get(HASH) == key(revoked_us=50) and backend.api_keys.get(HASH).revoked
    with pytest.raises(Conflict):
        revoke(backend, HASH, 60)
    assert backend.api_keys.get(HASH).revoked_us == 50  # the first revocation stays
    assert [k.revoked_us for k in backend.api_keys.of_account("alice")] == [50]


def test_revoking_an_unknown_key_creates_nothing(backend):
    with pytest.raises(Conflict):
        revoke(backend, "d" * 64, 50)
    assert backend.api_keys.get("d" * 64) is None
