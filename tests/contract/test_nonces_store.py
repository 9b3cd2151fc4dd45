"""The nonces store contract (DynamoDB and in-memory): a nonce signs in once, only for its
address, only before it expires."""

from __future__ import annotations

from chalicelib.ledger.stores.nonces import Nonce


def test_a_nonce_is_put_once_and_used_once(backend):
    assert backend.nonces.create(Nonce("ab" * 32, "0xalice", expires_at=1_000))
    assert backend.nonces.create(Nonce("ab" * 32, "0xmallory", expires_at=2_000)) is False
    assert backend.nonces.consume("ab" * 32, "0xmallory", now=10) is False  # not its address
    assert backend.nonces.consume("ab" * 32, "0xalice", now=10)
    assert backend.nonces.consume("ab" * 32, "0xalice", now=11) is False  # a replay


def test_an_unknown_or_expired_nonce_signs_nobody_in(backend):
    backend.nonces.create(Nonce("cd" * 32, "0xbob", expires_at=1_000))
    assert backend.nonces.consume("cd" * 32, "0xbob", now=1_000) is False
    assert backend.nonces.consume("ef" * 32, "0xbob", now=10) is False
    assert backend.nonces.consume("", "0xbob", now=10) is False
    assert backend.nonces.consume("f" * 3000, "0xbob", now=10) is False
