"""The assets store contract (DynamoDB and in-memory): creation inside a transaction,
unique names, asset ids and token addresses, and the three lookups."""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.errors import AlreadyExists, InsufficientFunds
from chalicelib.ledger.stores.assets import Asset

TOKEN = "0x" + "ab" * 20


def create(backend, asset: Asset, entry: str | None = None, credit: int = 0) -> None:
    tx = backend.new_tx()
    backend.assets.stage_create(tx, asset)
    if credit:
        tx.move(asset.issuer, asset.name, available=credit)
    tx.commit(entry or f"issue:{asset.name}", "issue", asset.name, 1)


def test_every_field_comes_back(backend):
    asset = Asset("ZRX", decimals=18, asset_id=31566704, token_address=TOKEN, issuer="alice", owner="bob",
                  description="0x", supply=10, locked=True, url="https://zrx", unit_name="zrx", default_frozen=True,
                  manager="m", reserve="r", freeze="f", clawback="c", metadata_hash="h", asset_longname="ZRX.X",
                  settlement="external", deposit="memo", confirmations_required=6, network_fee=3,
                  address_pattern="^0x", deposit_account="lambdex", created_us=42)
    create(backend, asset)
    assert backend.assets.get("ZRX") == asset
    assert backend.assets.by_asset_id(31566704) == asset
    assert backend.assets.by_token(TOKEN) == asset


def test_defaults_round_trip(backend):
    create(backend, Asset("USD"))
    assert backend.assets.get("USD") == Asset("USD")


def test_lookups_of_unknown_things_are_none(backend):
    create(backend, Asset("ZRX", asset_id=1, token_address=TOKEN))
    assert backend.assets.get("NOPE") is None
    assert backend.assets.get("") is None
    assert backend.assets.get("X" * 3000) is None
    assert backend.assets.by_asset_id(2) is None
    assert backend.assets.by_token("0x" + "cd" * 20) is None
    assert backend.assets.by_token("") is None


def test_token_lookup_ignores_case(backend):
    create(backend, Asset("ZRX", token_address=TOKEN))
    assert backend.assets.by_token(TOKEN.upper().replace("0X", "0x")).name == "ZRX"


def test_the_issuance_is_credited_in_the_same_transaction(backend):
    create(backend, Asset("ZRX", issuer="alice", supply=1000), credit=1000)
    assert backend.balances.get("alice", "ZRX", consistent=True).available == 1000


@pytest.mark.parametrize("clash", [
    {"name": "ZRX"},
    {"name": "OTHER", "asset_id": 7},
    {"name": "OTHER", "token_address": TOKEN},
])
def test_a_taken_name_id_or_token_refuses_the_whole_transaction(backend, clash):
    first = Asset("ZRX", asset_id=7, token_address=TOKEN, issuer="alice")
    create(backend, first, credit=5)
    second = dataclasses.replace(Asset("X", issuer="bob"), **clash)
    with pytest.raises(AlreadyExists):
        create(backend, second, entry="issue:second", credit=9)
    assert backend.balances.get("bob", second.name, consistent=True) is None  # the credit did not happen
    assert [a.name for a in backend.assets.list()] == ["ZRX"]
    assert backend.assets.get("ZRX") == first


def test_a_failed_debit_in_the_transaction_creates_nothing(backend):
    tx = backend.new_tx()
    backend.assets.stage_create(tx, Asset("ZRX", asset_id=9))
    tx.move("nobody", "WETH", available=-1)
    with pytest.raises(InsufficientFunds):
        tx.commit("issue:ZRX", "issue", "ZRX", 1)
    assert backend.assets.get("ZRX") is None
    create(backend, Asset("ZRX", asset_id=9))  # neither the name nor the id was claimed
    assert backend.assets.by_asset_id(9).name == "ZRX"


def test_list_is_by_name(backend):
    for name in ("ZRX", "ABC", "MID"):
        create(backend, Asset(name))
    assert [a.name for a in backend.assets.list()] == ["ABC", "MID", "ZRX"]
