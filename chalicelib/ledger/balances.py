"""Balance reads. Writes happen only through `store.Tx` with their journal entry."""

from __future__ import annotations

from chalicelib.ledger.models import Balance


def balances_of(address: str) -> list[Balance]:
    return list(Balance.query(address))


def holders_of(asset: str, limit: int, offset: int = 0) -> list[Balance]:
    rows = Balance.by_asset.query(asset, limit=offset + limit)
    return list(rows)[offset:offset + limit]


def get_balance(address: str, asset: str, consistent: bool = False) -> Balance | None:
    try:
        return Balance.get(address, asset, consistent_read=consistent)
    except Balance.DoesNotExist:
        return None
