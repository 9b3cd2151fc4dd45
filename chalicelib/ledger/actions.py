"""Operator actions: who did what and why, journaled in the transaction that does it.

Every lifecycle change an operator makes (a market's fee, a revoked key, a frozen
balance, a cancelled order, a refunded deposit) commits one journal entry that names the
operator and the reason. Changes that move no balance commit an entry with no postings
(its kind says what it was, its ref what it touched), so the audit's replay is unchanged.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from chalicelib.errors import InvalidInput
from chalicelib.ledger import store
from chalicelib.ledger.clock import Clock

OPERATOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
MAX_REASON = 500


@dataclass(frozen=True)
class Action:
    operator: str
    reason: str

    def __post_init__(self) -> None:
        if not OPERATOR.match(self.operator or ""):
            raise InvalidInput("the operator (X-Lambdex-Operator) must be 1-64 letters, digits or ._@+-",
                               field="operator")
        if not (self.reason or "").strip() or len(self.reason) > MAX_REASON:
            raise InvalidInput(f"reason must be 1-{MAX_REASON} characters", field="reason")


def commit(tx: store.Tx, kind: str, ref: str, action: Action, clock: Clock) -> None:
    """Commit `tx` with a journal entry of its own (an operator change is never a redelivery)."""
    tx.commit(f"admin:{uuid.uuid4().hex}", kind, ref, clock.now_us(), clock.block_index(), action=action)


def list_actions(operator: str, limit: int, cursor: str | None):
    from chalicelib.ledger import stores

    if not OPERATOR.match(operator):
        raise InvalidInput("not an operator name", field="operator")
    return stores.journal().by_operator(operator, limit, cursor)
