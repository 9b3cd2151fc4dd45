"""The converter pairs store contract (DynamoDB and in-memory)."""

from __future__ import annotations

from chalicelib.ledger.stores.pairs import CoinPair


def pair(id: int, from_coin: str, to_coin: str, rate: str = "2", fee: str = "0") -> CoinPair:
    return CoinPair(id, from_coin, to_coin, rate, fee)


def test_get_returns_what_was_created(backend):
    created = pair(1, "LTC", "SGTK", "100000.5", "1.25")
    assert backend.pairs.create(created)
    assert backend.pairs.get("LTC", "SGTK") == created
    assert created.pair == "LTC-SGTK"
    assert backend.pairs.get("SGTK", "LTC") is None  # a pair has a direction


def test_create_refuses_an_existing_pair(backend):
    backend.pairs.create(pair(1, "LTC", "SGTK", "2"))
    assert backend.pairs.create(pair(2, "LTC", "SGTK", "3")) is False
    assert backend.pairs.get("LTC", "SGTK").exchange_rate == "2"


def test_by_id(backend):
    backend.pairs.create(pair(1, "LTC", "SGTK"))
    backend.pairs.create(pair(2, "SGTK", "LTC"))
    assert backend.pairs.by_id(2).pair == "SGTK-LTC"
    assert backend.pairs.by_id(3) is None


def test_lists_by_id_with_either_coin(backend):
    for p in (pair(3, "LTC", "BTC"), pair(1, "LTC", "SGTK"), pair(2, "SGTK", "LTC"), pair(4, "BTC", "SGTK")):
        backend.pairs.create(p)
    assert [p.id for p in backend.pairs.list()] == [1, 2, 3, 4]
    assert [p.id for p in backend.pairs.list(from_coin="LTC")] == [1, 3]
    assert [p.id for p in backend.pairs.list(to_coin="SGTK")] == [1, 4]
    assert [p.id for p in backend.pairs.list(from_coin="LTC", to_coin="BTC")] == [3]
    assert backend.pairs.list(from_coin="NOPE") == []
