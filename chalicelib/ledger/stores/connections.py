"""The connections table: realtime WebSocket connections and their subscriptions.

Keys: `topic` (hash) and `member` (range). A connection's own item is
(`conn#<id>`, "#"); a subscription's is (`<channel>#<key>`, `<connection id>#...`), so a
channel's subscribers are one strongly consistent Query of their topic, never a Scan.
Index `by_connection` (hash `connection_id`, range `member`) finds a connection's items
when it goes. Every item carries `expires_at`, the table's TTL attribute: TTL deletes
lazily, so reads skip what has expired (`realtime/connections.py` does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from chalicelib.ledger import db
from chalicelib.ledger.stores.memory import MemoryLedger

SELF = "#"  # the member (range key) of a connection's own item


@dataclass(frozen=True)
class ConnectionItem:
    topic: str  # f"conn#{id}" for the connection itself, f"{channel}#{key}" for a subscription
    member: str  # SELF, or the subscription's f"{connection id}#{channel}#{request id}"
    connection_id: str
    expires_at: int
    channel: str | None = None
    request_id: str | None = None  # the client's requestId, as JSON
    options: str | None = None  # the subscription's options, as JSON


class ConnectionStore(Protocol):
    def put(self, item: ConnectionItem) -> None:
        """Put (or replace) the item."""

    def get(self, topic: str, member: str) -> ConnectionItem | None:
        """Strongly consistent."""

    def of_connection(self, connection_id: str) -> list[ConnectionItem]:
        """A connection's items (itself and its subscriptions), by member."""

    def of_topic(self, topic: str) -> list[ConnectionItem]:
        """A topic's items, strongly consistent, by member."""

    def delete(self, keys: Iterable[tuple[str, str]]) -> None:
        """Delete the items of these (topic, member) keys (absent ones are no error)."""


class DynamoConnections:
    def __init__(self):
        from chalicelib.ledger.models import Connection

        self._model = Connection

    def _domain(self, item) -> ConnectionItem:
        return ConnectionItem(item.topic, item.member, item.connection_id, int(item.expires_at), item.channel,
                              item.request_id, item.options)

    def put(self, item: ConnectionItem) -> None:
        self._model(**dataclasses.asdict(item)).save()

    def get(self, topic: str, member: str) -> ConnectionItem | None:
        if not (db.is_key(topic) and db.is_key(member)):
            return None
        try:
            return self._domain(self._model.get(topic, member, consistent_read=True))
        except self._model.DoesNotExist:
            return None

    def of_connection(self, connection_id: str) -> list[ConnectionItem]:
        if not db.is_key(connection_id):
            return []
        return [self._domain(item) for item in self._model.by_connection.query(connection_id)]

    def of_topic(self, topic: str) -> list[ConnectionItem]:
        if not db.is_key(topic):
            return []
        return [self._domain(item) for item in self._model.query(topic, consistent_read=True)]

    def delete(self, keys: Iterable[tuple[str, str]]) -> None:
        with self._model.batch_write() as batch:  # 25 per BatchWriteItem, unprocessed ones retried
            for topic, member in keys:
                batch.delete(self._model(topic, member))


class MemoryConnections:
    def __init__(self, ledger: MemoryLedger):
        self._ledger = ledger
        self._items: dict[tuple[str, str], ConnectionItem] = {}

    def put(self, item: ConnectionItem) -> None:
        with self._ledger.lock:
            self._items[(item.topic, item.member)] = item

    def get(self, topic: str, member: str) -> ConnectionItem | None:
        with self._ledger.lock:
            return self._items.get((topic, member))

    def of_connection(self, connection_id: str) -> list[ConnectionItem]:
        with self._ledger.lock:
            found = [i for i in self._items.values() if i.connection_id == connection_id]
        return sorted(found, key=lambda i: (i.member, i.topic))

    def of_topic(self, topic: str) -> list[ConnectionItem]:
        with self._ledger.lock:
            return [self._items[k] for k in sorted(self._items) if k[0] == topic]

    def delete(self, keys: Iterable[tuple[str, str]]) -> None:
        with self._ledger.lock:
            for key in keys:
                self._items.pop(key, None)
