"""The rules of assets, markets, converter pairs and API keys, on in-memory stores (no
database): what each refuses, that a refusal writes nothing, what a success writes."""

from __future__ import annotations

from fractions import Fraction

import pytest

from chalicelib.auth import apikeys
from chalicelib.errors import AlreadyExists, InvalidInput, NotFound
from chalicelib.ledger import assets, balances, markets, pairs
from chalicelib.ledger.actions import Action
from chalicelib.ledger.assets import Asset


@pytest.fixture
def coins(memory, clock):
    for name in ("ZRX", "WETH", "LTC"):
        assets.create_asset(Asset(name, decimals=8), clock)


def test_an_issuance_is_credited_to_the_issuer_and_owned_by_it(memory, clock):
    asset = assets.create_asset(Asset(" xcp ", issuer="alice", supply=1000, asset_id=7), clock)
    assert (asset.name, asset.owner, asset.created_us) == ("XCP", "alice", clock.now_us())
    assert balances.get_balance("alice", "XCP").available == 1000
    assert assets.asset_by_id(7) == asset
    entry = memory.new_tx().ledger.journal["issue:XCP"]
    assert entry["postings"] == [{"address": "alice", "asset": "XCP", "available": 1000, "locked": 0}]


def test_a_supply_needs_an_issuer(memory, clock):
    with pytest.raises(InvalidInput) as refused:
        assets.create_asset(Asset("XCP", supply=5), clock)
    assert refused.value.field == "issuer"
    assert assets.list_assets() == []


@pytest.mark.parametrize("clash", [Asset("zrx"), Asset("B", asset_id=1),
                                   Asset("C", token_address="0x" + "1" * 40)])
def test_a_duplicate_name_id_or_token_is_refused(memory, clock, clash):
    assets.create_asset(Asset("ZRX", asset_id=1, token_address="0x" + "1" * 40, issuer="a", supply=3), clock)
    with pytest.raises(AlreadyExists):
        assets.create_asset(clash, clock)
    assert [a.name for a in assets.list_assets()] == ["ZRX"]
    assert balances.get_balance("a", "ZRX").available == 3


def test_a_market_is_base_quote_with_its_own_number(coins, clock):
    first = markets.create_market("zrx-weth", "zrx", "weth", Fraction(1, 1000), clock, min_amount=5)
    second = markets.create_market("LTC-WETH", "LTC", "WETH", Fraction(0), clock)
    assert (first.id, first.fee, first.min_amount, first.number) == ("ZRX-WETH", "0.001", 5, 1)
    assert second.number == 2
    assert [m.id for m in markets.list_markets()] == ["LTC-WETH", "ZRX-WETH"]
    assert markets.fee_rate(first) == Fraction(1, 1000)


@pytest.mark.parametrize("id, base, quote, fee, error", [
    ("WETH-ZRX", "ZRX", "WETH", Fraction(0), InvalidInput),
    ("ZRX-ZRX", "ZRX", "ZRX", Fraction(0), InvalidInput),
    ("ZRX-WETH", "ZRX", "WETH", Fraction(1), InvalidInput),
    ("ZRX-NOPE", "ZRX", "NOPE", Fraction(0), NotFound),
])
def test_bad_markets_are_refused(coins, clock, id, base, quote, fee, error):
    with pytest.raises(error):
        markets.create_market(id, base, quote, fee, clock)
    assert markets.list_markets() == []


def test_a_market_exists_once(coins, clock):
    markets.create_market("ZRX-WETH", "ZRX", "WETH", Fraction(0), clock)
    with pytest.raises(AlreadyExists):
        markets.create_market("ZRX-WETH", "ZRX", "WETH", Fraction(1, 2), clock)
    assert markets.get_market("ZRX-WETH").fee == "0"


def test_a_market_can_be_disabled_and_unknown_ones_are_not_found(coins, clock):
    markets.create_market("ZRX-WETH", "ZRX", "WETH", Fraction(0), clock)
    operator = Action("ops", "rule test")
    assert markets.set_enabled("zrx-weth", False, operator, clock).enabled is False
    with pytest.raises(NotFound):
        markets.set_enabled("NOPE-WETH", False, operator, clock)
    with pytest.raises(NotFound):
        markets.get_market("NOPE-WETH")
    assert markets.find_market("X" * 3000) is None


def test_pairs(coins):
    pair = pairs.create_pair("ltc", "zrx", Fraction(100000), Fraction(1))
    assert (pair.pair, pair.id, pair.exchange_rate, pair.ex_fee) == ("LTC-ZRX", 1, "100000", "1")
    assert pairs.get_pair("ltc", "zrx") == pair and pairs.pair_by_id(1) == pair
    assert pairs.list_pairs(from_coin="ltc") == [pair] and pairs.list_pairs(to_coin="WETH") == []
    with pytest.raises(AlreadyExists):
        pairs.create_pair("LTC", "ZRX", Fraction(2), Fraction(0))
    with pytest.raises(NotFound):
        pairs.pair_by_id(2)


@pytest.mark.parametrize("from_coin, to_coin, rate, fee", [
    ("ZRX", "ZRX", Fraction(1), Fraction(0)),
    ("ZRX", "WETH", Fraction(0), Fraction(0)),
    ("ZRX", "WETH", Fraction(1), Fraction(100)),
    ("ZRX", "WETH", Fraction(1), Fraction(-1)),
])
def test_bad_pairs_are_refused(coins, from_coin, to_coin, rate, fee):
    with pytest.raises(InvalidInput):
        pairs.create_pair(from_coin, to_coin, rate, fee)
    assert pairs.list_pairs() == []


def test_api_keys_are_stored_hashed_with_their_scopes(memory):
    key, record = apikeys.create_key("alice", ["trade", "read", "trade"], 5, label="bot")
    assert key.startswith("lx_") and record.key_hash == apikeys.key_hash(key) != key
    assert (record.scopes, record.label, record.created_us) == (("read", "trade"), "bot", 5)
    assert apikeys.authenticate(key) == record
    assert apikeys.authenticate(key + "x") is None
    assert apikeys.keys_of("alice") == [record]


@pytest.mark.parametrize("scopes", [[], ["admin"], ["read", "root"]])
def test_api_keys_need_known_scopes(memory, scopes):
    with pytest.raises(InvalidInput):
        apikeys.create_key("alice", scopes, 5)
    assert apikeys.keys_of("alice") == []
