"""Chain adapters: how withdrawals and conversions leave the exchange.

`ChainAdapter.send(transfer_id, coin, to_address, memo, quantity) -> txid` must be
idempotent per `transfer_id`: sending the same transfer again (a retry after a crash or
a lost response, or two schedulers at once) returns the first transaction's id and never
pays twice. Real adapters pass `transfer_id` as the custody provider's idempotency key.

Errors: `ChainRejected` means the transfer was refused and certainly not sent (bad
address, unsupported coin): the caller may refund. Any other `ChainError` means the
outcome is unknown: the caller keeps the transfer and retries with the same id.

`LAMBDEX_CHAIN_ADAPTER` selects the adapter; `local` (the only one so far) records one
transfer per id in the outbox (`stores.outbox()`, put unless the id exists) and returns a
deterministic txid: sha256 of the transfer id, in hex.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from chalicelib import settings
from chalicelib.ledger import stores
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.stores.outbox import Transfer


class ChainError(Exception):
    """The send failed with an unknown outcome: retry with the same transfer id."""


class ChainRejected(ChainError):
    """The transfer was refused and was not sent: it may be refunded."""


class ChainAdapter(Protocol):
    def send(self, transfer_id: str, coin: str, to_address: str, memo: str | None, quantity: int) -> str: ...


class LocalAdapter:
    """Records each transfer in the outbox table instead of broadcasting it."""

    def __init__(self, clock: Clock):
        self.clock = clock

    @staticmethod
    def txid_of(transfer_id: str) -> str:
        return hashlib.sha256(f"lambdex-local:{transfer_id}".encode()).hexdigest()

    def send(self, transfer_id: str, coin: str, to_address: str, memo: str | None, quantity: int) -> str:
        if quantity <= 0:
            raise ChainRejected(f"transfer {transfer_id}: quantity must be positive")
        transfer = Transfer(
            transfer_id, coin=coin, to_address=to_address, memo=memo, quantity=quantity,
            txid=self.txid_of(transfer_id), created_us=self.clock.now_us(),
        )
        try:
            if stores.outbox().create(transfer):
                return transfer.txid
            sent = stores.outbox().get(transfer_id, consistent=True)
        except Exception as error:  # noqa: BLE001 - whatever failed, the outcome is unknown: retry the same id
            raise ChainError(f"transfer {transfer_id}: {error}") from error
        if sent is None:  # created, yet not read back: unknown, like any failure here
            raise ChainError(f"transfer {transfer_id}: recorded but not found")
        if (sent.coin, sent.to_address, sent.memo, sent.quantity) != (coin, to_address, memo, quantity):
            raise ChainRejected(f"transfer {transfer_id} was sent before with other details")
        return sent.txid


_override: ChainAdapter | None = None


def adapter(clock: Clock) -> ChainAdapter:
    if _override is not None:
        return _override
    name = settings.chain_adapter()
    if name == "local":
        return LocalAdapter(clock)
    raise ValueError(f"unknown LAMBDEX_CHAIN_ADAPTER {name!r}")


def use(replacement: ChainAdapter | None) -> None:
    """Replace the adapter (tests inject failing ones); None restores the configured one."""
    global _override
    _override = replacement


def outbox(transfer_id: str) -> Transfer | None:
    return stores.outbox().get(transfer_id, consistent=True)


def list_transfers(limit: int, cursor: str | None, coin: str | None = None, to_address: str | None = None):
    """What the local adapter sent, newest first (the admin listing of the outbox)."""

    def keep(t: Transfer) -> bool:
        return (coin is None or t.coin == coin.upper()) and (to_address is None or t.to_address == to_address)

    return stores.outbox().page(limit, cursor, keep)
