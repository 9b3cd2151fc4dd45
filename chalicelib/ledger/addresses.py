"""Deposit addresses and memos: derived from the seed (see `derivation`), stored once.

Every address (or memo) is a `DepositAddress` record that the deposit-addresses store
puts once, unless its key exists, so it maps back to exactly one owner whatever runs
concurrently. Derivation is deterministic, so asking
again returns the same address: it is read back by key, no index needed.

Owners: a ledger account for wallet addresses (purpose `wallet`), or
`f"pair:{FROM-TO}:{destination}"` for converter addresses (purpose `convert`).
"""

from __future__ import annotations

import logging
import re

from chalicelib import settings
from chalicelib.errors import Conflict, InvalidInput
from chalicelib.ledger import derivation, stores
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.stores.assets import Asset
from chalicelib.ledger.stores.deposit_addresses import DepositAddress, address_key, memo_key
from chalicelib.ledger.stores.pairs import CoinPair

log = logging.getLogger("lambdex.addresses")

MAX_DERIVATION_TRIES = 8


def deposit_account_of(asset: Asset) -> str:
    """The exchange's receiving account of a memo-based coin."""
    return asset.deposit_account or settings.deposit_account()


def destination_ok(asset: Asset, destination: str) -> bool:
    pattern = derivation.destination_pattern(asset.name, asset.deposit, asset.token_address,
                                              asset.address_pattern)
    return derivation.valid_destination(destination, pattern)


_ETHEREUM = re.compile(r"0x[0-9a-fA-F]{40}")


def canonical_address(address: str) -> str:
    """The ledger's spelling of an address: an Ethereum address in lower case (the 0x dialect
    keys its makers so), whatever EIP-55 checksum capitals it came with; others unchanged."""
    return address.lower() if _ETHEREUM.fullmatch(address) else address


def get(key: str) -> DepositAddress | None:
    return stores.deposit_addresses().get(key, consistent=True)


def of_address(coin: str, address: str) -> DepositAddress | None:
    """The record of a deposit to `address`. Strongly consistent: an address created a
    moment ago must be found, or its first deposit would be credited to the raw address."""
    return stores.deposit_addresses().get(address_key(coin, address), consistent=True)


def of_memo(coin: str, memo: str) -> DepositAddress | None:
    return stores.deposit_addresses().get(memo_key(coin, memo), consistent=True)


def _claim(record: DepositAddress) -> DepositAddress | None:
    """The stored record for `record.key` if it is (now) `record`'s owner's, else None."""
    existing = get(record.key)
    if existing is None:
        if stores.deposit_addresses().create(record):
            log.info("deposit address created", extra={"key": record.key, "owner": record.owner})
            return record
        existing = get(record.key)  # a concurrent request put it first
    if existing is not None and existing.owner == record.owner and existing.purpose == record.purpose:
        return existing
    return None


def _derived(asset: Asset, owner: str, clock: Clock, **fields) -> DepositAddress:
    seed = settings.address_seed()
    fmt = derivation.coin_format(asset.name, asset.deposit, asset.token_address)
    for n in range(MAX_DERIVATION_TRIES):
        if asset.deposit == "memo":
            memo = derivation.derive_memo(seed, asset.name, owner, n)
            record = DepositAddress(coin=asset.name, owner=owner, memo=memo, account=deposit_account_of(asset),
                                    created_us=clock.now_us(), **fields)
        else:
            address = derivation.derive_address(seed, asset.name, owner, fmt, n)
            record = DepositAddress(coin=asset.name, owner=owner, address=address, created_us=clock.now_us(),
                                    **fields)
        claimed = _claim(record)
        if claimed is not None:
            return claimed
        log.warning("derived deposit address taken, deriving the next", extra={"key": record.key, "n": n})
    raise Conflict(f"could not derive a free {asset.name} deposit address for {owner}")


def wallet_address(account: str, asset: Asset, clock: Clock) -> DepositAddress:
    """The account's deposit address (or account + memo) of a coin; the same every time."""
    if not account or "#" in account or account.startswith("pair:"):
        raise InvalidInput("not a valid account name", field="account")
    return _derived(asset, account, clock, purpose="wallet")


def converter_owner(pair: CoinPair, destination: str) -> str:
    return f"pair:{pair.pair}:{destination}"


def converter_address(pair: CoinPair, source: Asset, destination: str, clock: Clock) -> DepositAddress:
    """Where to send `pair.from_coin` to have it converted and sent to `destination`.

    Address-based coins get a derived address. Memo-based coins get the exchange's
    receiving account and the memo f"{to_coin} {destination}" (as the original converter).
    """
    owner = converter_owner(pair, destination)
    fields = {"purpose": "convert", "convert_to": pair.to_coin, "destination": destination}
    if source.deposit != "memo":
        return _derived(source, owner, clock, **fields)
    memo = f"{pair.to_coin} {destination}"
    record = DepositAddress(coin=source.name, owner=owner, memo=memo, account=deposit_account_of(source),
                            created_us=clock.now_us(), **fields)
    claimed = _claim(record)
    if claimed is None:
        raise Conflict(f"the {source.name} memo {memo!r} belongs to someone else")
    return claimed


def addresses_of(account: str) -> dict[str, DepositAddress]:
    """coin -> the account's wallet deposit address (Query on the owner index)."""
    found: dict[str, DepositAddress] = {}
    for record in stores.deposit_addresses().of_owner(account):
        if record.purpose == "wallet":
            found.setdefault(record.coin, record)
    return found
