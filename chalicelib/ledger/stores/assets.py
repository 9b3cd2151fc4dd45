"""The assets table: one item per asset, written once (with its issuance) and then only read.

Keys: `name` (upper case). Indexes: `all_assets` (hash `kind` = "asset", range `name`)
lists them; `by_asset_id` (the algod dialect's numeric id) and `by_token_address` (the
0x dialect's token contract, lower case) look one up. Both are unique: creation claims
guard items `asset_id#<id>` and `token#<address>` in the counters table in the same
transaction, so two concurrent creations cannot share one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.errors import AlreadyExists
from chalicelib.ledger import db, store
from chalicelib.ledger.models import Asset as AssetItem
from chalicelib.ledger.models import Counter
from chalicelib.ledger.stores.memory import MemoryLedger, MemoryTx


@dataclass(frozen=True)
class Asset:
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
    settlement: str = "ledger"  # "ledger" | "external" (paid outside, e.g. BTC)
    deposit: str = "address"  # "address" | "memo"
    confirmations_required: int = 1
    network_fee: int = 0  # base units deducted from outgoing transfers
    address_pattern: str | None = None  # regex a destination address must match
    deposit_account: str | None = None  # memo-based coins: the exchange's receiving account
    created_us: int = 0


_FIELDS = tuple(f.name for f in dataclasses.fields(Asset))


class AssetStore(Protocol):
    def get(self, name: str) -> Asset | None: ...

    def by_asset_id(self, asset_id: int) -> Asset | None: ...

    def by_token(self, token_address: str) -> Asset | None:
        """The asset carrying this token contract (any case)."""

    def list(self) -> list[Asset]:
        """Every asset, by name."""

    def stage_create(self, tx: Any, asset: Asset) -> None:
        """Add the asset to `tx`; its commit raises `AlreadyExists` when the name, the
        asset_id or the token address is taken, and then writes nothing."""


class DynamoAssets:
    def get(self, name: str) -> Asset | None:
        if not db.is_key(name):
            return None
        try:
            return _domain(AssetItem.get(name))
        except AssetItem.DoesNotExist:
            return None

    def by_asset_id(self, asset_id: int) -> Asset | None:
        found = next(iter(AssetItem.by_asset_id.query(asset_id, limit=1)), None)
        return _domain(found) if found else None

    def by_token(self, token_address: str) -> Asset | None:
        if not db.is_key(token_address):
            return None
        found = next(iter(AssetItem.by_token_address.query(token_address.lower(), limit=1)), None)
        return _domain(found) if found else None

    def list(self) -> list[Asset]:
        return [_domain(item) for item in AssetItem.all_assets.query("asset")]

    def stage_create(self, tx: store.Tx, asset: Asset) -> None:
        tx.put(AssetItem(**dataclasses.asdict(asset)), condition=AssetItem.name.does_not_exist(),
               on_fail=AlreadyExists(f"asset {asset.name} already exists"))
        if asset.asset_id is not None:
            tx.put(Counter(f"asset_id#{asset.asset_id}", value=0), condition=Counter.name.does_not_exist(),
                   on_fail=AlreadyExists(f"asset_id {asset.asset_id} is taken"))
        if asset.token_address:
            tx.put(Counter(f"token#{asset.token_address}", value=0), condition=Counter.name.does_not_exist(),
                   on_fail=AlreadyExists(f"token_address {asset.token_address} is taken"))


def _domain(item: AssetItem) -> Asset:
    return Asset(**{name: getattr(item, name) for name in _FIELDS})


class MemoryAssets:
    def __init__(self, ledger: MemoryLedger):
        self._ledger = ledger
        self._assets: dict[str, Asset] = {}

    def get(self, name: str) -> Asset | None:
        return self._assets.get(name)

    def by_asset_id(self, asset_id: int) -> Asset | None:
        with self._ledger.lock:
            return next((a for a in self._assets.values() if a.asset_id == asset_id), None)

    def by_token(self, token_address: str) -> Asset | None:
        with self._ledger.lock:
            return next((a for a in self._assets.values() if a.token_address == token_address.lower()), None)

    def list(self) -> list[Asset]:
        with self._ledger.lock:
            return [self._assets[k] for k in sorted(self._assets)]

    def stage_create(self, tx: MemoryTx, asset: Asset) -> None:
        def check() -> Exception | None:
            if asset.name in self._assets:
                return AlreadyExists(f"asset {asset.name} already exists")
            if asset.asset_id is not None and self.by_asset_id(asset.asset_id):
                return AlreadyExists(f"asset_id {asset.asset_id} is taken")
            if asset.token_address and any(a.token_address == asset.token_address for a in self._assets.values()):
                return AlreadyExists(f"token_address {asset.token_address} is taken")
            return None

        def apply() -> None:
            self._assets[asset.name] = asset

        tx.stage(check, apply)
