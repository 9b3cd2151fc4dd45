"""The per-process caches (issue 11.3), on in-memory stores with an injected timer:
what is cached and for how long, misses cached briefly, writes of this process seen at
once, and API-key revocation honoured within LAMBDEX_APIKEY_CACHE_SECONDS."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from chalicelib.auth import apikeys
from chalicelib.errors import Conflict, NotFound
from chalicelib.ledger import assets, cache, markets, stores
from chalicelib.ledger.actions import Action
from chalicelib.ledger.stores.assets import Asset
from tests import support

TOKEN = "0x" + "ab" * 20
OPERATOR = Action("ops", "cache test")


class Timer:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Counting:
    """Wraps a store and counts the calls of each method (to see what the cache saves)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, {}

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def counted(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)

        return counted


@pytest.fixture
def timer():
    timer = Timer()
    cache.use_timer(timer)
    yield timer
    cache.use_timer(None)


@pytest.fixture
def world(timer):
    memory = stores.in_memory()
    counted = dataclasses.replace(memory, assets=Counting(memory.assets), markets=Counting(memory.markets),
                                  api_keys=Counting(memory.api_keys))
    with stores.using(counted):
        yield counted


def elsewhere_revoke(world, key_hash: str) -> None:
    """A key revoked by another container: straight into the store, past this one's cache."""
    tx = world.new_tx()
    world.api_keys.inner.stage_revoke(tx, key_hash, 2, None, Conflict("revoked"))
    tx.commit("admin:elsewhere", "apikey_revoke", key_hash, 2)


def elsewhere_update(world, market_id: str, changes: dict) -> None:
    tx = world.new_tx()
    world.markets.inner.stage_update(tx, market_id, changes)
    tx.commit(f"admin:elsewhere:{sorted(changes.items())}", "market_update", market_id, 2)


def other_container_creates(world, **fields) -> None:
    """An asset written by another process: straight into the store, past this process's cache."""
    tx = world.new_tx()
    world.assets.inner.stage_create(tx, Asset(**fields))
    tx.commit(f"issue:{fields['name']}", "issue", fields["name"], 1)


def test_an_asset_is_read_once_per_ttl(world, timer):
    assets.create_asset(Asset("ZRX", asset_id=5, token_address=TOKEN), support.make_clock())
    for _ in range(3):
        assert assets.get_asset("zrx").name == "ZRX"
        assert assets.asset_by_id(5).name == "ZRX"
        assert assets.asset_by_token(TOKEN.upper().replace("0X", "0x")).name == "ZRX"
    assert world.assets.calls == {"stage_create": 1, "get": 1, "by_asset_id": 1, "by_token": 1}
    timer.advance(assets.ASSET_TTL + 0.01)
    assets.get_asset("ZRX")
    assert world.assets.calls["get"] == 2


def test_a_miss_is_cached_briefly(world, timer):
    assert assets.find_asset("LATE") is None
    assert assets.asset_by_token(TOKEN) is None
    other_container_creates(world, name="LATE", token_address=TOKEN)
    assert assets.find_asset("LATE") is None  # the miss is still cached
    assert assets.asset_by_token(TOKEN) is None
    assert world.assets.calls == {"get": 1, "by_token": 1}
    timer.advance(cache.NEGATIVE_TTL + 0.01)
    assert assets.find_asset("LATE").name == "LATE"
    assert assets.asset_by_token(TOKEN).name == "LATE"


def test_a_creation_in_this_process_is_seen_at_once(world, timer):
    clock = support.make_clock()
    assert assets.find_asset("ZRX") is None
    assert assets.asset_by_id(9) is None
    assets.create_asset(Asset("ZRX", asset_id=9), clock)
    assert assets.find_asset("ZRX").name == "ZRX"
    assert assets.asset_by_id(9).name == "ZRX"
    assets.create_asset(Asset("WETH"), clock)
    with pytest.raises(NotFound):
        markets.get_market("ZRX-WETH")
    markets.create_market("ZRX-WETH", "ZRX", "WETH", Fraction(0), clock)
    assert markets.get_market("ZRX-WETH").enabled


def test_a_market_is_cached_and_an_edit_here_is_seen_at_once(world, timer):
    clock = support.make_clock()
    for name in ("ZRX", "WETH"):
        assets.create_asset(Asset(name), clock)
    markets.create_market("ZRX-WETH", "ZRX", "WETH", Fraction(1, 1000), clock)  # (its checks read too)
    created = world.markets.calls["get"]
    for _ in range(3):
        markets.get_market("ZRX-WETH")
    assert world.markets.calls["get"] == created + 1
    markets.set_enabled("ZRX-WETH", False, OPERATOR, clock)
    assert markets.get_market("ZRX-WETH").enabled is False
    elsewhere_update(world, "ZRX-WETH", {"enabled": True})
    assert markets.get_market("ZRX-WETH").enabled is False
    timer.advance(markets.MARKET_TTL + 0.01)
    assert markets.get_market("ZRX-WETH").enabled is True


def test_settlement_reads_the_market_itself_not_the_cache(world, timer):
    clock = support.make_clock()
    for name in ("ZRX", "WETH"):
        assets.create_asset(Asset(name), clock)
    markets.create_market("ZRX-WETH", "ZRX", "WETH", Fraction(0), clock)
    markets.get_market("ZRX-WETH")
    elsewhere_update(world, "ZRX-WETH", {"fee": "0.5"})
    assert markets.get_market("ZRX-WETH").fee == "0"
    assert markets.get_market("ZRX-WETH", consistent=True).fee == "0.5"


def test_an_api_key_is_checked_once_per_ttl(world, timer, monkeypatch):
    monkeypatch.setenv("LAMBDEX_APIKEY_CACHE_SECONDS", "5")
    key, record = apikeys.create_key("alice", ["read"], 1)
    for _ in range(4):
        assert apikeys.authenticate(key) == record
    assert world.api_keys.calls["get"] == 1
    timer.advance(5.01)
    apikeys.authenticate(key)
    assert world.api_keys.calls["get"] == 2


def test_a_revocation_elsewhere_is_honoured_within_the_cache_time(world, timer, monkeypatch):
    monkeypatch.setenv("LAMBDEX_APIKEY_CACHE_SECONDS", "5")
    key, record = apikeys.create_key("alice", ["read", "trade"], 1)
    assert apikeys.authenticate(key) == record
    elsewhere_revoke(world, record.key_hash)
    timer.advance(4.9)
    assert apikeys.authenticate(key) == record  # still within the documented 5 s
    timer.advance(0.2)
    assert apikeys.authenticate(key) is None


def test_a_revocation_here_is_honoured_at_once(world, timer, monkeypatch):
    monkeypatch.setenv("LAMBDEX_APIKEY_CACHE_SECONDS", "60")
    key, record = apikeys.create_key("alice", ["read"], 1)
    assert apikeys.authenticate(key) == record
    revoked = apikeys.operator_revoke(record.key_hash, OPERATOR, support.make_clock())
    assert revoked.revoked
    assert apikeys.authenticate(key) is None
    assert [k.revoked for k in apikeys.keys_of("alice")] == [True]


def test_no_api_key_caching_with_zero_seconds(world, timer, monkeypatch):
    monkeypatch.setenv("LAMBDEX_APIKEY_CACHE_SECONDS", "0")
    key, record = apikeys.create_key("alice", ["read"], 1)
    assert apikeys.authenticate(key) == record
    elsewhere_revoke(world, record.key_hash)
    assert apikeys.authenticate(key) is None
    assert world.api_keys.calls["get"] == 2


def test_an_unknown_key_is_refused_and_its_miss_cached(world, timer, monkeypatch):
    monkeypatch.setenv("LAMBDEX_APIKEY_CACHE_SECONDS", "5")
    for _ in range(3):
        assert apikeys.authenticate("lx_made_up") is None
    assert world.api_keys.calls["get"] == 1


def test_the_cache_is_bounded(timer, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 10)
    cache.clear()
    for n in range(25):
        cache.cached("asset", f"MADE-UP-{n}", 60, lambda: None)
    assert len(cache._entries) == 10
    loads = []
    cache.cached("asset", "MADE-UP-24", 60, lambda: loads.append(1))  # the newest are kept
    cache.cached("asset", "MADE-UP-0", 60, lambda: loads.append(1))  # the oldest went
    assert loads == [1]
    cache.clear()
