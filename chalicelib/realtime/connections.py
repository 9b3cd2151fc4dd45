"""WebSocket connections and their subscriptions (table `connections`, through
`stores.connections()`, which owns its keys and queries).

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

from chalicelib.ledger import stores
from chalicelib.ledger.stores.connections import SELF, ConnectionItem

MAX_CONNECTION_SECONDS = 2 * 3600  # API Gateway closes a WebSocket connection after 2 hours
TTL_SECONDS = MAX_CONNECTION_SECONDS + 600
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
    stores.connections().put(ConnectionItem(f"conn#{connection_id}", SELF, connection_id, now + TTL_SECONDS))


def connection_expiry(connection_id: str) -> int | None:
    found = stores.connections().get(f"conn#{connection_id}", SELF)
    return None if found is None else found.expires_at


def subscribe(connection_id: str, channel: str, key: str, request_id: Any, options: dict, now: int) -> Subscription:
    expires = connection_expiry(connection_id) or now + TTL_SECONDS
    sub = Subscription(connection_id, channel, topic(channel, key), request_id, options)
    stores.connections().put(ConnectionItem(sub.topic, sub.member, connection_id, expires, channel=channel,
                                            request_id=json.dumps(request_id),
                                            options=json.dumps(options, sort_keys=True)))
    return sub


def subscriptions_of(connection_id: str) -> list[ConnectionItem]:
    """A connection's items (itself and its subscriptions), by the `by_connection` index."""
    return stores.connections().of_connection(connection_id)


def count_subscriptions(connection_id: str) -> int:
    return sum(1 for item in subscriptions_of(connection_id) if item.member != SELF)


def unsubscribe(connection_id: str, channel: str | None, request_id: Any) -> int:
    """Delete the connection's subscriptions with this requestId (of `channel`, if given)."""
    gone = [(item.topic, item.member) for item in subscriptions_of(connection_id)
            if item.member != SELF and json.loads(item.request_id or "null") == request_id
            and (channel is None or item.channel == channel)]
    if gone:
        stores.connections().delete(gone)
    return len(gone)


def remove_connection(connection_id: str) -> int:
    """Delete a connection and every subscription of it (on `$disconnect`, or when a post found it gone)."""
    items = subscriptions_of(connection_id)
    stores.connections().delete([(f"conn#{connection_id}", SELF),
                                 *((item.topic, item.member) for item in items if item.member != SELF)])
    return len(items)


def remove_subscriptions(subs: list[Subscription]) -> None:
    stores.connections().delete([(sub.topic, sub.member) for sub in subs])


def subscribers(topic_name: str, now: int) -> list[Subscription]:
    """Every live subscription of a topic (one consistent Query of its partition; TTL deletes
    expired items only eventually, so they are skipped here)."""
    found = []
    for item in stores.connections().of_topic(topic_name):
        if item.expires_at <= now:
            continue
        found.append(Subscription(item.connection_id, item.channel or "", item.topic,
                                  json.loads(item.request_id or "null"), json.loads(item.options or "{}")))
    return found
