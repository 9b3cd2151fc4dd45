"""Balance reads. Writes happen only through `store.Tx` with their journal entry."""

from __future__ import annotations

from chalicelib.ledger import db
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


def set_frozen(address: str, asset: str, frozen: bool, action, clock) -> Balance:
    """Freeze (no debit of `available` succeeds: no new order, no withdrawal; what open
    orders hold in `locked` still settles and cancels) or unfreeze one balance."""
    from chalicelib.errors import Conflict, NotFound
    from chalicelib.ledger import actions, store
    from chalicelib.ledger.assets import get_asset

    name = get_asset(asset).name
    balance = get_balance(address, name, consistent=True) if db.is_key(address) else None
    if balance is None:
        raise NotFound(f"{address} holds no {name}")
    if bool(balance.frozen) == frozen:
        raise Conflict(f"the {name} balance of {address} is {'already' if frozen else 'not'} frozen", field="frozen")
    tx = store.Tx()
    tx.update(balance, actions=[Balance.frozen.set(frozen)], condition=Balance.address.exists())
    actions.commit(tx, "freeze" if frozen else "unfreeze", f"{address}#{name}", action, clock)
    return get_balance(address, name, consistent=True)
