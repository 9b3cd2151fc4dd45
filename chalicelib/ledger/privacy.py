"""Which accounts the public routes may show.

An API-key account (CoinBTR) is private by default: the public Counterparty and algod
routes serve neither its balances nor its holdings (an unknown or private address reads
as holding nothing), unless one of its keys was created with `"public": true`
(`POST /admin/apikeys`). The account always sees its own through its key. Any other
address (a Counterparty, Algorand or Ethereum address with no API key) is public, as on
its chain.

One Query of the api_keys `by_account` index per account, cached for
LAMBDEX_APIKEY_CACHE_SECONDS (a new key's creation clears it in its container).
"""

from __future__ import annotations

from chalicelib import settings
from chalicelib.ledger import cache, stores


def is_private(address: str) -> bool:
    def load() -> bool:
        keys = stores.api_keys().of_account(address)
        return bool(keys) and not any(k.public for k in keys)

    return cache.cached("privacy", address, settings.apikey_cache_seconds(), load)
