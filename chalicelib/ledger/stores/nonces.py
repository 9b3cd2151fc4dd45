"""The nonces table: one-time sign-in nonces of the 0x relayer's `/v0/auth`.

Keys: `nonce` (the keccak256 of the signed message, hex, as `/v0/auth` receives it). A
nonce is put unless it exists, and used once: `consume` is one conditional update
(unused, the same address, not expired). Expired items are removed by the table's TTL
(`expires_at`), which may lag, hence the condition on it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

from chalicelib.ledger import db, store
from chalicelib.ledger.stores.memory import MemoryLedger


@dataclass(frozen=True)
class Nonce:
    nonce: str
    address: str  # lower case
    expires_at: int  # unix seconds; also the TTL attribute
    used: bool = False


class NonceStore(Protocol):
    def create(self, nonce: Nonce) -> bool:
        """Put the nonce unless it exists; False when it does."""

    def consume(self, nonce: str, address: str, now: int) -> bool:
        """Mark it used if it exists, is unused, is `address`'s and has not expired; False if not."""


class DynamoNonces:
    def __init__(self):
        from chalicelib.ledger.models import Nonce as NonceItem

        self._model = NonceItem

    def create(self, nonce: Nonce) -> bool:
        item = self._model(**dataclasses.asdict(nonce))
        return store.write_if(lambda: item.save(condition=self._model.nonce.does_not_exist()))

    def consume(self, nonce: str, address: str, now: int) -> bool:
        if not db.is_key(nonce):
            return False
        model = self._model
        item = model(nonce)
        condition = (model.nonce.exists() & (model.used == False)  # noqa: E712 (a DynamoDB condition)
                     & (model.address == address) & (model.expires_at > now))
        return store.write_if(lambda: item.update(actions=[model.used.set(True)], condition=condition))


class MemoryNonces:
    def __init__(self, ledger: MemoryLedger):
        self._ledger = ledger
        self._nonces: dict[str, Nonce] = {}

    def create(self, nonce: Nonce) -> bool:
        with self._ledger.lock:
            if nonce.nonce in self._nonces:
                return False
            self._nonces[nonce.nonce] = nonce
            return True

    def consume(self, nonce: str, address: str, now: int) -> bool:
        with self._ledger.lock:
            found = self._nonces.get(nonce)
            if found is None or found.used or found.address != address or found.expires_at <= now:
                return False
            self._nonces[nonce] = dataclasses.replace(found, used=True)
            return True
