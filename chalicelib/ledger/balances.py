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


def set_frozen(address: str, asset: str, frozen: bool, action, clock) -> Balance:
    """Freeze (no debit of `available` succeeds: no new order, no withdrawal; what open
    orders hold in `locked` still settles and cancels) or unfreeze one balance."""
    from chalicelib.errors import Conflict, NotFound
    from chalicelib.ledger import actions
    from chalicelib.ledger.assets import get_asset

    name = get_asset(asset).name
    balance = stores.balances().get(address, name, consistent=True)
    if balance is None:
        raise NotFound(f"{address} holds no {name}")
    if balance.frozen == frozen:
        raise Conflict(f"the {name} balance of {address} is {'already' if frozen else 'not'} frozen", field="frozen")
    tx = stores.new_tx()
    stores.balances().stage_freeze(tx, address, name, frozen)
    actions.commit(tx, "freeze" if frozen else "unfreeze", f"{address}#{name}", action, clock)
    return stores.balances().get(address, name, consistent=True)
