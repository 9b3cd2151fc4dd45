"""The background work's heartbeats: two items of the `counters` table under keys of
their own (``health#stream``, ``health#scheduler``). The matcher records each stream batch
(when, how far behind the newest record was, which markets fail), the scheduler each
pass: one UpdateItem each (two when markets both fail and recover: ADD and DELETE of one
set cannot share an update expression). `read` gets both in one BatchGetItem on a client
that gives up fast, so it is also the health check's database probe: it raises whatever
reaching the table raised.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.ledger.stores.memory import MemoryLedger

STREAM_KEY = "health#stream"
SCHEDULER_KEY = "health#scheduler"


@dataclass(frozen=True)
class Heartbeats:
    stream_at: float | None = None  # unix seconds of the last stream batch
    lag_seconds: float | None = None
    failing: frozenset[str] = frozenset()  # markets the stream could not settle
    scheduler_at: float | None = None  # unix seconds of the last completed pass
    scheduler_ms: float | None = None


class HeartbeatStore(Protocol):
    def record_stream(self, at: float, lag_seconds: float | None, failed: set[str], recovered: set[str]) -> None:
        """A stream batch at `at`: `failed` markets join the failing set, `recovered` ones leave it."""

    def record_scheduler(self, at: float, ms: float) -> None: ...

    def read(self) -> Heartbeats:
        """Both heartbeats (raises if the table cannot be reached)."""


@functools.cache
def _probe_client(endpoint: str | None):
    """A client that gives up fast: a health check must answer while the database does not."""
    from botocore.config import Config

    from chalicelib import settings
    from chalicelib.ledger import db

    return db.session().create_client(
        "dynamodb", region_name=settings.region(), endpoint_url=endpoint,
        config=Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 1, "mode": "standard"}))


class DynamoHeartbeats:
    @staticmethod
    def _table() -> str:
        from chalicelib.ledger.models import Counter

        return Counter.Meta.table_name

    def _update(self, key: str, expression: str, values: dict, names: dict | None = None) -> None:
        from chalicelib.ledger import db

        request = {"TableName": self._table(), "Key": {"name": {"S": key}}, "UpdateExpression": expression,
                   "ExpressionAttributeValues": values}
        if names:
            request["ExpressionAttributeNames"] = names
        db.client().update_item(**request)

    def record_stream(self, at: float, lag_seconds: float | None, failed: set[str], recovered: set[str]) -> None:
        values = {":at": {"N": str(at)}}
        expression = "SET #at = :at"
        if lag_seconds is not None:
            values[":lag"] = {"N": str(lag_seconds)}
            expression += ", lag_seconds = :lag"
        if recovered:
            values[":ok"] = {"SS": sorted(recovered)}
            expression += " DELETE failing :ok"
        self._update(STREAM_KEY, expression, values, {"#at": "at"})
        if failed:
            self._update(STREAM_KEY, "ADD failing :bad", {":bad": {"SS": sorted(failed)}})

    def record_scheduler(self, at: float, ms: float) -> None:
        self._update(SCHEDULER_KEY, "SET #at = :at, ms = :ms", {":at": {"N": str(at)}, ":ms": {"N": str(ms)}},
                     {"#at": "at"})

    def read(self) -> Heartbeats:
        from chalicelib.ledger import db

        table = self._table()
        found = _probe_client(db._endpoint).batch_get_item(RequestItems={table: {
            "Keys": [{"name": {"S": STREAM_KEY}}, {"name": {"S": SCHEDULER_KEY}}]}})
        items = {i["name"]["S"]: i for i in found["Responses"].get(table, [])}
        stream, scheduler = items.get(STREAM_KEY, {}), items.get(SCHEDULER_KEY, {})

        def number(item: dict, name: str) -> float | None:
            return float(item[name]["N"]) if name in item else None

        return Heartbeats(number(stream, "at"), number(stream, "lag_seconds"),
                          frozenset(stream.get("failing", {}).get("SS", [])), number(scheduler, "at"),
                          number(scheduler, "ms"))


@dataclass
class MemoryHeartbeats:
    ledger: MemoryLedger
    state: Heartbeats = field(default_factory=Heartbeats)

    def record_stream(self, at: float, lag_seconds: float | None, failed: set[str], recovered: set[str]) -> None:
        with self.ledger.lock:
            s = self.state
            self.state = Heartbeats(at, s.lag_seconds if lag_seconds is None else lag_seconds,
                                    frozenset((s.failing - recovered) | failed), s.scheduler_at, s.scheduler_ms)

    def record_scheduler(self, at: float, ms: float) -> None:
        with self.ledger.lock:
            s = self.state
            self.state = Heartbeats(s.stream_at, s.lag_seconds, s.failing, at, ms)

    def read(self) -> Heartbeats:
        return self.state
