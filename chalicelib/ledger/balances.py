"""Balance reads. Writes happen only through a transaction (`store.Tx`) with their journal entry."""

from __future__ import annotations

from chalicelib.ledger import stores
from chalicelib.ledger.stores.balances import Balance


def balances_of(address: str) -> list[Balance]:
    return stores.balances().of(address)


def holders_of(asset: str, limit: int, offset: int = 0) -> list[Balance]:
    return stores.balances().holders(asset, limit, offset)


def get_balance(address: str, asset: str, consistent: bool = False) -> Balance | None:
    return stores.balances().get(address, asset, consistent)
