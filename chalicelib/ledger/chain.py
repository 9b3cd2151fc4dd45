"""Chain adapters: how withdrawals and conversions leave the exchange.

`ChainAdapter.send(transfer_id, coin, to_address, memo, quantity) -> txid` must be
idempotent per `transfer_id`: sending the same transfer again (a retry after a crash or
a lost response, or two schedulers at once) returns the first transaction's id and never
pays twice. Real adapters pass `transfer_id` as the custody provider's idempotency key.

Errors: `ChainRejected` means the transfer was refused and certainly not sent (bad
address, unsupported coin): the caller may refund. Any other `ChainError` means the
outcome is unknown: the caller keeps the transfer and retries with the same id.

`LAMBDEX_CHAIN_ADAPTER` selects the adapter; `local` (the only one so far) writes one
`OutboxTransfer` item per transfer, put with `attribute_not_exists(id)`, and returns a
deterministic txid: sha256 of the transfer id, in hex.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PutError

from chalicelib import settings
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.models import OutboxTransfer


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
        transfer = OutboxTransfer(
            transfer_id, coin=coin, to_address=to_address, memo=memo, quantity=quantity,
            txid=self.txid_of(transfer_id), created_us=self.clock.now_us(),
        )
        try:
            transfer.save(condition=OutboxTransfer.id.does_not_exist())
            return transfer.txid
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise ChainError(f"transfer {transfer_id}: {error}") from error
        except (ClientError, BotoCoreError) as error:
            raise ChainError(f"transfer {transfer_id}: {error}") from error
        sent = OutboxTransfer.get(transfer_id, consistent_read=True)
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


def outbox(transfer_id: str) -> OutboxTransfer | None:
    try:
        return OutboxTransfer.get(transfer_id, consistent_read=True)
    except OutboxTransfer.DoesNotExist:
        return None


def list_transfers(limit: int, cursor: str | None, coin: str | None = None, to_address: str | None = None):
    """What the local adapter sent, newest first (the admin listing of the outbox)."""
    from chalicelib.ledger import paging

    def keep(t: OutboxTransfer) -> bool:
        return (coin is None or t.coin == coin.upper()) and (to_address is None or t.to_address == to_address)

    return paging.page(lambda start: OutboxTransfer.all_transfers.query(
        "transfer", scan_index_forward=False, last_evaluated_key=start),
        paging.key_types(OutboxTransfer, "id", "kind", "created_us"),
        limit, cursor, keep, fixed={"kind": "transfer"})
