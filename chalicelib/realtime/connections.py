"""The store of WebSocket connections and their subscriptions (table `connections`).

A subscription's partition key is its topic (`book#ZRX-WETH`), so the publisher finds a
channel's subscribers with one strongly consistent Query, never a Scan; the sort key starts
with the connection id, and the `by_connection` index finds a connection's items when it
goes. Every item expires (TTL) when API Gateway would have closed the connection anyway, so
a missed `$disconnect` leaves nothing behind for long.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalicelib.ledger import db
from chalicelib.ledger.models import Connection

MAX_CONNECTION_SECONDS = 2 * 3600  # API Gateway closes a WebSocket connection after 2 hours
TTL_SECONDS = MAX_CONNECTION_SECONDS + 600
SELF = "#"  # sort key of a connection's own item
MAX_SUBSCRIPTIONS = 50  # per connection


@dataclass(frozen=True)
class Subscription:
    connection_id: str
    channel: str
    topic: str
    request_id: Any
    options: dict

    @property
    def member(self) -> str:
        return member(self.connection_id, self.request_id, self.channel)


def topic(channel: str, key: str) -> str:
    return f"{channel}#{key}"


def member(connection_id: str, request_id: Any, channel: str) -> str:
    # One subscription per (connection, channel, requestId): a repeated subscribe replaces it.
    return f"{connection_id}#{channel}#{json.dumps(request_id)}"


def add_connection(connection_id: str, now: int) -> None:
    Connection(f"conn#{connection_id}", SELF, connection_id=connection_id, expires_at=now + TTL_SECONDS).save()


def connection_expiry(connection_id: str) -> int | None:
    try:
        return int(Connection.get(f"conn#{connection_id}", SELF, consistent_read=True).expires_at)
    except Connection.DoesNotExist:
        return None


def subscribe(connection_id: str, channel: str, key: str, request_id: Any, options: dict, now: int) -> Subscription:
    expires = connection_expiry(connection_id) or now + TTL_SECONDS
    sub = Subscription(connection_id, channel, topic(channel, key), request_id, options)
    Connection(sub.topic, sub.member, connection_id=connection_id, channel=channel,
               request_id=json.dumps(request_id), options=json.dumps(options, sort_keys=True),
               expires_at=expires).save()
    return sub


def subscriptions_of(connection_id: str) -> list[Connection]:
    """A connection's items (itself and its subscriptions), by the `by_connection` index."""
    if not db.is_key(connection_id):
        return []
    return list(Connection.by_connection.query(connection_id))


def count_subscriptions(connection_id: str) -> int:
    return sum(1 for item in subscriptions_of(connection_id) if item.member != SELF)


def unsubscribe(connection_id: str, channel: str | None, request_id: Any) -> int:
    """Delete the connection's subscriptions with this requestId (of `channel`, if given)."""
    removed = 0
    for item in subscriptions_of(connection_id):
        if item.member == SELF or json.loads(item.request_id or "null") != request_id:
            continue
        if channel is not None and item.channel != channel:
            continue
        item.delete()
        removed += 1
    return removed


def remove_connection(connection_id: str) -> int:
    """Delete a connection and every subscription of it (on `$disconnect`, or when a post found it gone)."""
    items = subscriptions_of(connection_id)
    with Connection.batch_write() as batch:
        batch.delete(Connection(f"conn#{connection_id}", SELF))
        for item in items:
            if item.member != SELF:
                batch.delete(item)
    return len(items)


def remove_subscriptions(subs: list[Subscription]) -> None:
    with Connection.batch_write() as batch:
        for sub in subs:
            batch.delete(Connection(sub.topic, sub.member))


def subscribers(topic_name: str, now: int) -> list[Subscription]:
    """Every live subscription of a topic (one consistent Query of its partition; TTL deletes
    expired items only eventually, so they are skipped here)."""
    found = []
    for item in Connection.query(topic_name, consistent_read=True):
        if int(item.expires_at) <= now:
            continue
        found.append(Subscription(item.connection_id, item.channel or "", item.topic,
                                  json.loads(item.request_id or "null"), json.loads(item.options or "{}")))
    return found
