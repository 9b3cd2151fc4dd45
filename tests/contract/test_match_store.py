"""The matches store: DynamoDB and in memory agree on ids and the conditional put."""

from __future__ import annotations

import pytest

from chalicelib.ledger.stores.matches import DynamoMatches, MemoryMatches, match_id


@pytest.fixture(params=["memory", "dynamodb"])
def matches(request):
    if request.param == "memory":
        yield MemoryMatches()
    else:
        request.getfixturevalue("ledger")
        yield DynamoMatches()


def record(id: str) -> dict:
    n = lambda v: {"N": str(v)}  # noqa: E731
    return {"id": {"S": id}, "market": {"S": "ZRX-WETH"}, "tx0_hash": {"S": "a"}, "tx1_hash": {"S": "b"},
            "tx0_index": n(1), "tx1_index": n(2), "tx0_address": {"S": "x"}, "tx1_address": {"S": "y"},
            "time_us": n(5), "status": {"S": "completed"}}


def test_a_match_is_put_once(matches):
    first = match_id("a", "b", 7, repeat=False)
    assert matches.put_new(record(first))
    assert not matches.put_new(record(first))
    assert matches.get(first)["tx1_hash"] == {"S": "b"}
    assert matches.get("nope") is None


def test_a_repeat_of_a_pair_has_its_own_id(matches):
    ids = {match_id("a", "b", 7, repeat=False), match_id("a", "b", 8, repeat=True),
           match_id("a", "b", 9, repeat=True)}
    assert len(ids) == 3 and "a_b" in ids and "a_b_8" in ids
    assert all(matches.put_new(record(i)) for i in ids)
