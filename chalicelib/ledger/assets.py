"""Assets: create (with the issuance credited to the issuer), read, list."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.errors import AlreadyExists, InvalidInput, NotFound
from chalicelib.ledger import cache, db, store
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.models import Asset, Counter


@dataclass
class AssetSpec:
    name: str
    decimals: int = 0
    asset_id: int | None = None
    token_address: str | None = None
    issuer: str | None = None
    owner: str | None = None
    description: str = ""
    supply: int = 0
    locked: bool = False
    url: str | None = None
    unit_name: str | None = None
    default_frozen: bool = False
    manager: str | None = None
    reserve: str | None = None
    freeze: str | None = None
    clawback: str | None = None
    metadata_hash: str | None = None
    asset_longname: str | None = None
    settlement: str = "ledger"
    deposit: str = "address"
    confirmations_required: int = 1
    network_fee: int = 0
    address_pattern: str | None = None
    deposit_account: str | None = None


# Asset names: upper-case letters, digits, '.' and '_' (never '-', the market id separator).
NAME_ALPHABET = re.compile(r"[A-Z0-9][A-Z0-9._]{0,31}")
MAX_UINT64 = 2**64 - 1


def normalize_name(name: str) -> str:
    return name.strip().upper()


def create_asset(spec: AssetSpec, clock: Clock) -> Asset:
    """Create the asset; its `supply` is credited to the issuer in the same transaction.

    Unique `asset_id` and `token_address` are claimed with guard items in the counters
    table, written in the same transaction, so two concurrent creations cannot share one.
    """
    name = normalize_name(spec.name)
    if not NAME_ALPHABET.fullmatch(name):
        raise InvalidInput("an asset name is 1-32 letters, digits, '.' or '_' (no '-': it separates market ids)",
                           field="name")
    fields = {k: v for k, v in vars(spec).items() if k != "name"}
    if spec.supply and not spec.issuer:
        raise InvalidInput("an asset with a supply needs an issuer to hold it", field="issuer")
    if spec.asset_id is not None and spec.supply > MAX_UINT64:  # algod's amounts and totals are uint64
        raise InvalidInput(f"an asset with an asset_id (an algod asset) has a supply of at most {MAX_UINT64}",
                           field="supply")
    asset = Asset(name, created_us=clock.now_us(), **fields)
    if asset.owner is None:
        asset.owner = asset.issuer
    tx = store.Tx()
    tx.put(asset, condition=Asset.name.does_not_exist(), on_fail=AlreadyExists(f"asset {name} already exists"))
    if spec.asset_id is not None:
        tx.put(Counter(f"asset_id#{spec.asset_id}", value=0), condition=Counter.name.does_not_exist(),
               on_fail=AlreadyExists(f"asset_id {spec.asset_id} is taken"))
    if spec.token_address:
        tx.put(Counter(f"token#{spec.token_address}", value=0), condition=Counter.name.does_not_exist(),
               on_fail=AlreadyExists(f"token_address {spec.token_address} is taken"))
    if spec.supply:
        tx.move(spec.issuer, name, available=spec.supply)
    try:
        tx.commit(f"issue:{name}", "issue", name, clock.now_us(), clock.block_index())
    except store.AlreadyApplied as error:
        raise AlreadyExists(f"asset {name} already exists") from error
    return asset


ASSET_TTL = 60.0  # seconds; an asset's fields do not change after creation


def get_asset(name: str) -> Asset:
    asset = find_asset(name)
    if asset is None:
        raise NotFound(f"no asset {name!r}")
    return asset


def find_asset(name: str) -> Asset | None:
    if not db.is_key(normalize_name(name)):
        return None

    def load() -> Asset | None:
        try:
            return Asset.get(normalize_name(name))
        except Asset.DoesNotExist:
            return None

    return cache.cached("asset", normalize_name(name), ASSET_TTL, load)


def asset_by_id(asset_id: int) -> Asset | None:
    return next(iter(Asset.by_asset_id.query(asset_id, limit=1)), None)


def asset_by_token(token_address: str) -> Asset | None:
    return next(iter(Asset.by_token_address.query(token_address.lower(), limit=1)), None)


def list_assets() -> list[Asset]:
    return list(Asset.all_assets.query("asset"))
