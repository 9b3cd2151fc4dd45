"""The realtime stores' contract (DynamoDB and in-memory): connections and subscriptions
by topic and by connection; the publisher's feed commits, all or nothing, conditioned on
the sequence numbers read, one marker per published match."""

from __future__ import annotations

import pytest

from chalicelib.ledger.stores.connections import SELF, ConnectionItem
from chalicelib.ledger.stores.feeds import Conflict, FeedState


def sub(connection_id: str, topic: str, request_id: str = "1") -> ConnectionItem:
    return ConnectionItem(topic, f"{connection_id}#book#{request_id}", connection_id, 500, channel="book",
                          request_id=request_id, options="{}")


def test_connections_by_key_by_topic_and_by_connection(backend):
    backend.connections.put(ConnectionItem("conn#c1", SELF, "c1", 100))
    for item in (sub("c1", "book#A-B"), sub("c2", "book#A-B"), sub("c1", "book#C-D", "2")):
        backend.connections.put(item)
    assert backend.connections.get("conn#c1", SELF) == ConnectionItem("conn#c1", SELF, "c1", 100)
    assert backend.connections.get("conn#nope", SELF) is None
    assert [i.connection_id for i in backend.connections.of_topic("book#A-B")] == ["c1", "c2"]
    assert {(i.topic, i.member) for i in backend.connections.of_connection("c1")} == {
        ("conn#c1", SELF), ("book#A-B", "c1#book#1"), ("book#C-D", "c1#book#2")}
    backend.connections.put(ConnectionItem("book#A-B", "c2#book#1", "c2", 900, channel="book", request_id="1",
                                           options='{"side": "bids"}'))  # a repeated subscribe replaces it
    assert [i.options for i in backend.connections.of_topic("book#A-B")] == ["{}", '{"side": "bids"}']
    backend.connections.delete([("conn#c1", SELF), ("book#A-B", "c1#book#1"), ("book#X", "never#there")])
    assert [i.connection_id for i in backend.connections.of_topic("book#A-B")] == ["c2"]
    assert [i.topic for i in backend.connections.of_connection("c1")] == ["book#C-D"]
    assert backend.connections.of_topic("") == [] and backend.connections.of_connection("") == []


def test_a_feed_commit_is_conditioned_on_what_was_read(backend):
    assert backend.feeds.get("A-B") is None
    first = FeedState("A-B", 1, 2, '{"bids":[],"asks":[]}')
    backend.feeds.commit(None, first, ["m1", "m2"], 1_000)
    assert backend.feeds.get("A-B") == first
    with pytest.raises(Conflict) as absent:  # it exists now: a second "first" publication loses
        backend.feeds.commit(None, FeedState("A-B", 1, 1, "x"), ["m3"], 1_000)
    assert absent.value.published == set()
    with pytest.raises(Conflict) as stale:
        backend.feeds.commit(FeedState("A-B", 0, 0), FeedState("A-B", 1, 1), [], 1_000)
    assert stale.value.published == set()
    backend.feeds.commit(first, FeedState("A-B", 1, 3, None), ["m3"], 1_000)  # trades only: the book stays
    assert backend.feeds.get("A-B") == FeedState("A-B", 1, 3, '{"bids":[],"asks":[]}')


def test_a_redelivered_match_is_named_and_nothing_of_its_commit_applies(backend):
    backend.feeds.commit(None, FeedState("A-B", 0, 1), ["m1"], 1_000)
    read = backend.feeds.get("A-B")
    with pytest.raises(Conflict) as again:
        backend.feeds.commit(read, FeedState("A-B", 1, 3, "new book"), ["m2", "m1"], 1_000)
    assert again.value.published == {"m1"}
    assert backend.feeds.get("A-B") == read
    backend.feeds.commit(read, FeedState("A-B", 0, 2), ["m2"], 1_000)  # m2 was not left behind
    assert backend.feeds.get("A-B").trade_seq == 2
