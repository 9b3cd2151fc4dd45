"""The matches store: match ids, the conditional put of a new match, reads by id.

Match ids. Counterparty's id is ``f"{tx0_hash}_{tx1_hash}"``; it is unique as long as a
pair of orders trades at most once, which holds while neither order has had anything
given back: after a fill the matcher leaves the pair unable to trade again (one side is
exhausted at the other's price). Only a match that expired unpaid gives quantity back
(`external._give_back`), and it marks both of its orders (`expired_with`). So a fill in
which either order carries that mark is named ``f"{tx0_hash}_{tx1_hash}_{seq}"``, `seq`
being the market's settlement number that commits it: a settlement commits at most one
fill per pair, and a retried settlement re-reads `seq` and the orders, so ids are unique
and idempotent through `seq`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


def match_id(tx0_hash: str, tx1_hash: str, seq: int, repeat: bool) -> str:
    """The id of one fill; `repeat` when either order has had a match expire unpaid."""
    return f"{tx0_hash}_{tx1_hash}_{seq}" if repeat else f"{tx0_hash}_{tx1_hash}"


def match_put(record: dict[str, Any]) -> dict[str, Any]:
    """The conditional Put of a new match (`record` in wire format, with its `id`)."""
    from chalicelib.ledger.models import OrderMatch

    return {"TableName": OrderMatch.Meta.table_name, "Item": record,
            "ConditionExpression": "attribute_not_exists(#id)", "ExpressionAttributeNames": {"#id": "id"}}


class DynamoMatches:
    def __init__(self, client=None):
        self._client = client

    def _connection(self):
        if self._client is not None:
            return self._client
        from chalicelib.ledger import db

        return db.client()

    def put_new(self, record: dict[str, Any]) -> bool:
        """Put a match unless its id exists; False if it did."""
        from botocore.exceptions import ClientError

        try:
            self._connection().put_item(**match_put(record))
            return True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def get(self, id: str) -> dict[str, Any] | None:
        from chalicelib.ledger.models import OrderMatch

        response = self._connection().get_item(TableName=OrderMatch.Meta.table_name, Key={"id": {"S": id}},
                                               ConsistentRead=True)
        return response.get("Item")


@dataclass
class MemoryMatches:
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put_new(self, record: dict[str, Any]) -> bool:
        with self._lock:
            if record["id"]["S"] in self.records:
                return False
            self.records[record["id"]["S"]] = dict(record)
            return True

    def get(self, id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.records.get(id)
            return dict(found) if found else None
