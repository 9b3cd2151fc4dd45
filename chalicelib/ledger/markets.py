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
from chalicelib.ledger import cache, counters, db, store
from chalicelib.ledger.assets import get_asset, normalize_name
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.models import Counter, Market


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
        name=name, url=url, number=counters.next_id("market"), created_us=clock.now_us(),
    )
    tx = store.Tx()
    tx.put(market, condition=Market.id.does_not_exist(), on_fail=AlreadyExists(f"market {expected} already exists"))
    tx.put(Counter(pair_key(base_asset.name, quote_asset.name), value=0, market=expected),
           condition=Counter.name.does_not_exist(),
           on_fail=AlreadyExists(f"a market already trades {base_asset.name} against {quote_asset.name}"))
    try:
        store.run(lambda: tx.commit(f"market:{expected}", "market", expected, clock.now_us(), clock.block_index()),
                  what=f"create market {expected}")
    except store.AlreadyApplied as error:
        raise AlreadyExists(f"market {expected} already exists") from error
    return market


def pair_key(asset_a: str, asset_b: str) -> str:
    """The guard item of a pair of assets, the same in either order."""
    first, second = sorted((normalize_name(asset_a), normalize_name(asset_b)))
    return f"market_pair#{first}#{second}"


def market_of_pair(asset_a: str, asset_b: str) -> Market | None:
    """The one market trading these two assets (either may be its base), or None."""
    key = pair_key(asset_a, asset_b)

    def load() -> str | None:
        try:
            return Counter.get(key).market
        except Counter.DoesNotExist:
            return None

    found = cache.cached("market_pair", key, PAIR_TTL, load)  # a pair's market never changes
    return find_market(found) if found else None


def _rate_text(rate: Fraction) -> str:
    from decimal import Decimal

    return str(Decimal(rate.numerator) / Decimal(rate.denominator))


MARKET_TTL = 2.0  # seconds; settlement reads the market itself (consistently), never from here
PAIR_TTL = 300.0


def get_market(id: str, consistent: bool = False) -> Market:
    if not db.is_key(normalize_name(id)):
        raise NotFound(f"no market {id!r}")

    def load() -> Market | None:
        try:
            return Market.get(normalize_name(id), consistent_read=consistent)
        except Market.DoesNotExist:
            return None

    market = load() if consistent else cache.cached("market", normalize_name(id), MARKET_TTL, load)
    if market is None:
        raise NotFound(f"no market {id!r}")
    return market


def find_market(id: str) -> Market | None:
    try:
        return get_market(id)
    except NotFound:
        return None


def list_markets() -> list[Market]:
    return list(Market.all_markets.query("market"))


def fee_rate(market: Market) -> Fraction:
    return Fraction(market.fee)
