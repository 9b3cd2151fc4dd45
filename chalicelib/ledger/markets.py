"""Markets: a base asset priced in a quote asset (price = quote per base).

Ids are unambiguous: asset names never contain the separator `-` (`assets.NAME_ALPHABET`),
and at most one market trades a pair of assets (never both `A-B` and `B-A`). A guard item
per pair (in the counters table, written in the market's own transaction, so two creations
racing cannot both win) names that market: orders that name only their two assets
(Counterparty style) find their market through it, never by trying reversed ids.
"""

from __future__ import annotations

from fractions import Fraction

from chalicelib.errors import AlreadyExists, InvalidInput, NotFound
from chalicelib.ledger import cache, store, stores
from chalicelib.ledger.assets import get_asset, normalize_name
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.stores.markets import Market


def market_id(base: str, quote: str) -> str:
    return f"{normalize_name(base)}-{normalize_name(quote)}"


def create_market(id: str, base: str, quote: str, fee: Fraction, clock: Clock, min_amount: int = 0,
                  name: str | None = None, url: str | None = None) -> Market:
    base_asset, quote_asset = get_asset(base), get_asset(quote)
    if base_asset.name == quote_asset.name:
        raise InvalidInput("a market needs two different assets", field="quote")
    expected = market_id(base_asset.name, quote_asset.name)
    if normalize_name(id) != expected:
        raise InvalidInput(f"market id must be BASE-QUOTE, here {expected}", field="id")
    if fee >= 1:
        raise InvalidInput("fee must be a rate below 1 (e.g. 0.001)", field="fee")
    reverse = market_id(quote_asset.name, base_asset.name)
    if find_market(expected) is not None:  # checked before a market number is drawn
        raise AlreadyExists(f"market {expected} already exists")
    if find_market(reverse) is not None:
        raise AlreadyExists(f"market {reverse} already trades {base_asset.name} against {quote_asset.name}")
    market = Market(
        expected, base=base_asset.name, quote=quote_asset.name, fee=_rate_text(fee), min_amount=min_amount,
        name=name, url=url, number=stores.counters().next_id("market"), created_us=clock.now_us(),
    )
    tx = stores.new_tx()
    stores.markets().stage_create(tx, market)
    try:  # a racing creation of the reverse meets the pair guard; contention retries the same transaction
        store.run(lambda: tx.commit(f"market:{expected}", "market", expected, clock.now_us(), clock.block_index()),
                  what=f"create market {expected}")
    except store.AlreadyApplied as error:
        raise AlreadyExists(f"market {expected} already exists") from error
    finally:  # a cached "no such market" must not outlive the creation
        cache.forget("market", expected)
        cache.forget("market_pair", _pair_cache_key(base_asset.name, quote_asset.name))
    return market


def _pair_cache_key(asset_a: str, asset_b: str) -> str:
    a, b = normalize_name(asset_a), normalize_name(asset_b)
    return f"{min(a, b)}#{max(a, b)}"


def market_of_pair(asset_a: str, asset_b: str) -> Market | None:
    """The one market trading these two assets (either may be its base), or None."""
    a, b = normalize_name(asset_a), normalize_name(asset_b)
    found = cache.cached("market_pair", _pair_cache_key(a, b), PAIR_TTL,
                         lambda: stores.markets().market_of_pair(a, b))  # a pair's market never changes
    return find_market(found) if found else None


def _rate_text(rate: Fraction) -> str:
    from decimal import Decimal

    return str(Decimal(rate.numerator) / Decimal(rate.denominator))


MARKET_TTL = 2.0  # seconds; settlement reads the market itself (consistently), never from here
PAIR_TTL = 300.0


def get_market(id: str, consistent: bool = False) -> Market:
    key = normalize_name(id)
    if consistent:
        market = stores.markets().get(key, consistent=True)
    else:
        market = cache.cached("market", key, MARKET_TTL, lambda: stores.markets().get(key))
    if market is None:
        raise NotFound(f"no market {id!r}")
    return market


def find_market(id: str) -> Market | None:
    try:
        return get_market(id)
    except NotFound:
        return None


def list_markets() -> list[Market]:
    return stores.markets().list()


def fee_rate(market: Market) -> Fraction:
    return Fraction(market.fee)


# -- operator changes (chalicelib/ledger/actions.py journals who and why) ---------

MARKET_SETTINGS = ("fee", "min_amount", "name", "url")


def change_market(id: str, changes: dict, action, clock: Clock) -> Market:
    """An operator changes a market's fee, minimum, name or url. The matcher reads the
    market consistently, so the next settlement uses the new fee; placement sees it within
    MARKET_TTL seconds (at once in this process)."""
    unknown = set(changes) - set(MARKET_SETTINGS)
    if unknown or not changes:
        raise InvalidInput(f"change one or more of {list(MARKET_SETTINGS)}",
                           field=sorted(unknown)[0] if unknown else None)
    if "fee" in changes:
        if not 0 <= changes["fee"] < 1:
            raise InvalidInput("fee must be a rate from 0 to below 1 (e.g. 0.001)", field="fee")
        changes = {**changes, "fee": _rate_text(changes["fee"])}
    return _change(id, changes, "market_update", action, clock)


def set_enabled(id: str, enabled: bool, action, clock: Clock) -> Market:
    """Disable (placement refused in every dialect; open orders stay and may still trade
    or be cancelled) or enable a market again."""
    return _change(id, {"enabled": enabled}, "market_enable" if enabled else "market_disable", action, clock)


def _change(id: str, changes: dict, kind: str, action, clock: Clock) -> Market:
    from chalicelib.ledger import actions

    market = get_market(id, consistent=True)
    tx = stores.new_tx()
    stores.markets().stage_update(tx, market.id, changes)
    actions.commit(tx, kind, market.id, action, clock)
    cache.forget("market", market.id)
    return get_market(market.id, consistent=True)
