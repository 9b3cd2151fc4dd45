"""Assets: create (with the issuance credited to the issuer), read, list.

Reads are cached per process (`ASSET_TTL`; a miss for `cache.NEGATIVE_TTL`): an asset's
fields never change after creation, and a creation in this process drops the misses it
would contradict.
"""

from __future__ import annotations

import re
from dataclasses import replace

from chalicelib.errors import AlreadyExists, InvalidInput, NotFound
from chalicelib.ledger import cache, store, stores
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.stores.assets import Asset

# Asset names: upper-case letters, digits, '.' and '_' (never '-', the market id separator).
NAME_ALPHABET = re.compile(r"[A-Z0-9][A-Z0-9._]{0,31}")
MAX_UINT64 = 2**64 - 1


def normalize_name(name: str) -> str:
    return name.strip().upper()


def create_asset(spec: Asset, clock: Clock) -> Asset:
    """Create the asset described by `spec` (its name is normalized, its `owner` defaults to
    the issuer, `created_us` is set here); its `supply` is credited to the issuer in the same transaction
    (the store claims its unique `asset_id` and `token_address` in it too)."""
    name = normalize_name(spec.name)
    if not NAME_ALPHABET.fullmatch(name):
        raise InvalidInput("an asset name is 1-32 letters, digits, '.' or '_' (no '-': it separates market ids)",
                           field="name")
    if spec.supply and not spec.issuer:
        raise InvalidInput("an asset with a supply needs an issuer to hold it", field="issuer")
    if spec.asset_id is not None and spec.supply > MAX_UINT64:  # algod's amounts and totals are uint64
        raise InvalidInput(f"an asset with an asset_id (an algod asset) has a supply of at most {MAX_UINT64}",
                           field="supply")
    asset = replace(spec, name=name, owner=spec.owner if spec.owner is not None else spec.issuer,
                    created_us=clock.now_us())
    tx = stores.new_tx()
    stores.assets().stage_create(tx, asset)
    if spec.supply:
        tx.move(spec.issuer, name, available=spec.supply)
    try:
        tx.commit(f"issue:{name}", "issue", name, clock.now_us(), clock.block_index())
    except store.AlreadyApplied as error:
        raise AlreadyExists(f"asset {name} already exists") from error
    finally:  # a cached "no such asset" must not outlive the creation (nor a failed one's race)
        cache.forget("asset", name)
        if asset.asset_id is not None:
            cache.forget("asset_id", str(asset.asset_id))
        if asset.token_address:
            cache.forget("token", asset.token_address.lower())
    return asset


ASSET_TTL = 60.0  # seconds; an asset's fields do not change after creation


def get_asset(name: str) -> Asset:
    asset = find_asset(name)
    if asset is None:
        raise NotFound(f"no asset {name!r}")
    return asset


def find_asset(name: str) -> Asset | None:
    key = normalize_name(name)
    return cache.cached("asset", key, ASSET_TTL, lambda: stores.assets().get(key))


def asset_by_id(asset_id: int) -> Asset | None:
    return cache.cached("asset_id", str(asset_id), ASSET_TTL, lambda: stores.assets().by_asset_id(asset_id))


def asset_by_token(token_address: str) -> Asset | None:
    key = token_address.lower()
    return cache.cached("token", key, ASSET_TTL, lambda: stores.assets().by_token(key))


def list_assets() -> list[Asset]:
    return stores.assets().list()
