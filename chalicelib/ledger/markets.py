"""Markets: a base asset priced in a quote asset (price = quote per base)."""

from __future__ import annotations

from fractions import Fraction

from chalicelib.errors import AlreadyExists, InvalidInput, NotFound
from chalicelib.ledger import cache, counters, db, store
from chalicelib.ledger.assets import get_asset, normalize_name
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.models import Market


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
    market = Market(
        expected, base=base_asset.name, quote=quote_asset.name, fee=_rate_text(fee), min_amount=min_amount,
        name=name, url=url, number=counters.next_id("market"), created_us=clock.now_us(),
    )
    if not store.write_if(lambda: market.save(condition=Market.id.does_not_exist())):
        raise AlreadyExists(f"market {expected} already exists")
    return market


def _rate_text(rate: Fraction) -> str:
    from decimal import Decimal

    return str(Decimal(rate.numerator) / Decimal(rate.denominator))


MARKET_TTL = 2.0  # seconds; settlement reads the market itself (consistently), never from here


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


# -- operator changes (chalicelib/ledger/actions.py journals who and why) ---------

MARKET_SETTINGS = ("fee", "min_amount", "name", "url")


def update_market(id: str, changes: dict, action, clock: Clock) -> Market:
    """Change a market's fee, minimum, name or url. The matcher reads the market
    consistently, so the next settlement uses the new fee; placement sees it within
    MARKET_TTL seconds (at once in this process)."""
    unknown = set(changes) - set(MARKET_SETTINGS)
    if unknown or not changes:
        raise InvalidInput(f"change one or more of {list(MARKET_SETTINGS)}", field=sorted(unknown)[0] if unknown
                           else None)
    if "fee" in changes:
        if not 0 <= changes["fee"] < 1:
            raise InvalidInput("fee must be a rate from 0 to below 1 (e.g. 0.001)", field="fee")
        changes = {**changes, "fee": _rate_text(changes["fee"])}
    return _change(id, changes, "market_update", action, clock)


def set_enabled(id: str, enabled: bool, action, clock: Clock) -> Market:
    """Disable (placement refused in every dialect; open orders stay and may still trade
    or be cancelled) or enable a market again."""
    return _change(id, {"enabled": enabled}, "market_enable" if enabled else "market_disable", action, clock)


def _change(id: str, values: dict, kind: str, action, clock: Clock) -> Market:
    from chalicelib.ledger import actions

    market = get_market(id, consistent=True)
    tx = store.Tx()
    attributes = Market.get_attributes()
    updates = [attributes[name].remove() if value is None else attributes[name].set(value)
               for name, value in values.items()]
    tx.update(market, actions=updates, condition=Market.id.exists())
    actions.commit(tx, kind, market.id, action, clock)
    cache.forget("market", market.id)
    return get_market(market.id, consistent=True)
