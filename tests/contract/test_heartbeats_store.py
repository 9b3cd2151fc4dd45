"""The heartbeat store contract (DynamoDB and in-memory): the last stream batch with its
lag and failing markets, the last scheduler pass."""

from __future__ import annotations

from chalicelib.ledger.stores.heartbeats import Heartbeats


def test_nothing_recorded_reads_empty(backend):
    assert backend.heartbeats.read() == Heartbeats()


def test_stream_batches_keep_the_failing_markets_until_they_recover(backend):
    backend.heartbeats.record_stream(100.5, 0.25, {"A-B", "C-D"}, set())
    backend.heartbeats.record_stream(101.0, None, {"E-F"}, {"A-B"})  # no lag measured: the last one stays
    backend.heartbeats.record_scheduler(102.0, 12.5)
    assert backend.heartbeats.read() == Heartbeats(101.0, 0.25, frozenset({"C-D", "E-F"}), 102.0, 12.5)
    backend.heartbeats.record_stream(103.0, 1.5, set(), {"C-D", "E-F"})
    assert backend.heartbeats.read().failing == frozenset()
    assert backend.heartbeats.read().lag_seconds == 1.5
