"""Atomic ledger writes: every balance change goes in with the record that explains it.

`Tx` collects the items of one `TransactWriteItems`: entity writes, and balance deltas
that are merged per (address, asset) because one transaction may not touch an item
twice. `commit` adds the journal entry, put with `attribute_not_exists(id)`: its id is
the operation's idempotency key, so a redelivered or retried operation that already
committed is recognised (`AlreadyApplied`) and never applied twice.

Debits are conditional (`available >= x`, `locked >= x`, not frozen), so no balance
goes negative whatever runs concurrently; credits are `ADD`, which commutes.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from chalicelib import observability
from chalicelib.errors import Busy, InsufficientFunds, LedgerError
from chalicelib.ledger import db
from chalicelib.ledger.models import Balance, JournalEntry

log = logging.getLogger("lambdex.store")

MAX_TRANSACTION_ITEMS = 100
MAX_TRANSACTION_BYTES = 4_000_000  # DynamoDB: a transaction's items total at most 4 MB
RETRYABLE_CODES = {
    "TransactionConflict",
    "TransactionInProgressException",
    "ThrottlingError",
    "ThrottlingException",
    "ProvisionedThroughputExceeded",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


class AlreadyApplied(Exception):
    """The operation's journal entry exists: it committed before (redelivery or retry)."""


class StaleRead(Exception):
    """A condition on a value read earlier failed: read again and rebuild."""


class Retryable(Exception):
    """Contention or throttling: the same operation may simply be tried again."""


@dataclass
class _Item:
    action: str  # Put | Update | ConditionCheck | Delete
    request: dict[str, Any]
    on_fail: type[Exception] | Exception  # what a failed condition on this item means


@dataclass
class BalanceDeltas:
    """The balance half of a transaction, shared by `Tx` and the in-memory stores' `MemoryTx`."""

    deltas: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def move(self, address: str, asset: str, available: int = 0, locked: int = 0) -> None:
        """Add (or with negative numbers, take) amounts of one balance."""
        delta = self.deltas.setdefault((address, asset), [0, 0])
        delta[0] += available
        delta[1] += locked

    def postings(self) -> list[dict[str, Any]]:
        return [
            {"address": a, "asset": s, "available": d[0], "locked": d[1]}
            for (a, s), d in sorted(self.deltas.items())
            if d[0] or d[1]
        ]


@dataclass
class Tx(BalanceDeltas):
    items: list[_Item] = field(default_factory=list)

    # -- entity writes -------------------------------------------------------
    def put(self, model, condition=None, on_fail: type[Exception] | Exception = StaleRead) -> None:
        request = model.get_save_kwargs_from_instance(condition=condition)
        self.items.append(_Item("Put", _strip(request), on_fail))

    def update(self, model, actions, condition=None, on_fail: type[Exception] | Exception = StaleRead) -> None:
        request = model.get_update_kwargs_from_instance(
            actions=actions, condition=condition, add_version_condition=False
        )
        self.items.append(_Item("Update", _strip(request), on_fail))

    def raw(self, action: str, request: dict[str, Any], on_fail: type[Exception] | Exception = StaleRead) -> None:
        """An item already in wire format (a store module built it)."""
        self.items.append(_Item(action, request, on_fail))

    def check(self, model_cls, hash_key, range_key=None, *, condition,
              on_fail: type[Exception] | Exception = StaleRead) -> None:
        request = model_cls.get_operation_kwargs_from_class(hash_key, range_key=range_key, condition=condition)
        self.items.append(_Item("ConditionCheck", _strip(request), on_fail))

    def size(self) -> int:
        return len(self.items) + len(self.postings()) + 1

    def byte_size(self) -> int:
        """An upper bound of the transaction's size: its requests as JSON (what the items
        hold plus names and expressions), the journal entry's postings included."""
        return len(json.dumps([i.request for i in self.items])) + 2 * len(json.dumps(self.postings())) + 512

    # -- commit ---------------------------------------------------------------
    def commit(self, entry_id: str, kind: str, ref: str, time_us: int, block_index: int = 0,
               action=None) -> None:
        """`action` (an `actions.Action`): the operator and reason an admin change is journaled with."""
        postings = self.postings()
        entry = JournalEntry(
            entry_id, kind=kind, ref=ref, postings=postings, time_us=time_us, block_index=block_index
        )
        if action is not None:
            entry.operator, entry.reason = action.operator, action.reason
        items = [_Item("Put", _strip(entry.get_save_kwargs_from_instance(
            condition=JournalEntry.id.does_not_exist())), AlreadyApplied)]
        items += self.items
        items += [_balance_item(p) for p in postings]
        if len(items) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"transaction of {len(items)} items exceeds {MAX_TRANSACTION_ITEMS}")
        _transact(items)


def _strip(request: dict[str, Any]) -> dict[str, Any]:
    # PynamoDB adds keys TransactWriteItems does not take.
    request.pop("ReturnValues", None)
    request.pop("ReturnConsumedCapacity", None)
    return request


def _balance_item(posting: dict[str, Any]) -> _Item:
    available, locked = posting["available"], posting["locked"]
    names = {"#a": "available", "#l": "locked"}
    values: dict[str, Any] = {":a": {"N": str(available)}, ":l": {"N": str(locked)}}
    conditions = []
    if available < 0:
        conditions.append("#a >= :need_a")
        conditions.append("(attribute_not_exists(#f) OR #f = :false)")
        names["#f"] = "frozen"
        values[":need_a"] = {"N": str(-available)}
        values[":false"] = {"BOOL": False}
    if locked < 0:
        conditions.append("#l >= :need_l")
        values[":need_l"] = {"N": str(-locked)}
    request: dict[str, Any] = {
        "TableName": Balance.Meta.table_name,
        "Key": {"address": {"S": posting["address"]}, "asset": {"S": posting["asset"]}},
        "UpdateExpression": "ADD #a :a, #l :l",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if conditions:
        request["ConditionExpression"] = " AND ".join(conditions)
    return _Item("Update", request, InsufficientFunds)


def _transact(items: list[_Item]) -> None:
    try:
        db.client().transact_write_items(TransactItems=[{i.action: i.request} for i in items])
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "TransactionCanceledException":
            reasons = error.response.get("CancellationReasons") or []
            _raise_for_reasons(items, reasons, error)
        if code in RETRYABLE_CODES:
            raise Retryable(code) from error
        raise


def _raise_for_reasons(items: list[_Item], reasons: list[dict[str, Any]], error: ClientError) -> None:
    codes = [r.get("Code", "None") for r in reasons]
    # The journal guard first: an operation that already committed is done, whatever else failed.
    if codes and codes[0] == "ConditionalCheckFailed":
        raise AlreadyApplied(items[0].request["Item"]["id"]["S"]) from error
    for item, code in zip(items, codes, strict=False):
        if code == "ConditionalCheckFailed":
            if item.on_fail is InsufficientFunds:
                key = item.request["Key"]
                raise InsufficientFunds(
                    f"insufficient {key['asset']['S']} balance of {key['address']['S']}"
                ) from error
            if isinstance(item.on_fail, Exception):
                raise item.on_fail from error
            raise item.on_fail(f"condition failed on {item.request.get('TableName')}") from error
    if any(code in RETRYABLE_CODES for code in codes) or not codes:
        raise Retryable(",".join(codes) or "TransactionCanceled") from error
    raise LedgerError(f"transaction cancelled: {codes}") from error


T = TypeVar("T")


def write_if(write: Callable[[], object]) -> bool:
    """Run one conditional single-item PynamoDB write; False if its condition failed."""
    from pynamodb.exceptions import PutError, UpdateError

    try:
        write()
        return True
    except (PutError, UpdateError) as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        if error.cause_response_code in RETRYABLE_CODES:
            raise Retryable(error.cause_response_code) from error
        raise


def run(operation: Callable[[], T], *, attempts: int = 8, what: str = "operation") -> T:
    """Run a read-build-commit `operation`, retrying stale reads and contention.

    `operation` must read afresh each time it is called. `AlreadyApplied` and domain
    errors propagate to the caller, who knows what they mean for it.
    """
    for attempt in range(attempts):
        try:
            return operation()
        except (StaleRead, Retryable) as error:
            log.info("retry", extra={"what": what, "attempt": attempt, "reason": str(error)})
            observability.count("WriteRetries")
            time.sleep(min(0.2, 0.005 * 2**attempt) * random.random())
    raise Busy(f"{what} did not settle after {attempts} attempts, try again")
