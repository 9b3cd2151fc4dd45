"""The ledger seen through token contract addresses (what the 0x relayer dialect speaks).

Token address -> asset (`Asset.by_token_address`), token pair -> market and side, and
placing an order whose two sides are named by token address. No HTTP, no dialect shapes.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from chalicelib.errors import InvalidInput
from chalicelib.ledger import orders, stores
from chalicelib.ledger.assets import asset_by_token, get_asset, normalize_name
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.market_data import DayStats, day_stats
from chalicelib.ledger.markets import find_market, list_markets
from chalicelib.ledger.stores.assets import Asset
from chalicelib.ledger.stores.markets import Market
from chalicelib.ledger.stores.orders import Order


class UnknownToken(InvalidInput):
    """A token address no asset of the ledger carries."""


class UnknownPair(InvalidInput):
    """No market trades these two tokens (or a pair name that is no market)."""


@dataclass(frozen=True)
class TokenMarket:
    market: Market
    base: Asset
    quote: Asset

    def token_of(self, asset_name: str) -> str | None:
        return self.base.token_address if asset_name == self.base.name else self.quote.token_address


def token_asset(token_address: str, field: str) -> Asset:
    asset = asset_by_token(token_address)
    if asset is None:
        raise UnknownToken(f"token {token_address.lower()} is not traded here", field=field)
    return asset


def token_market(market: Market) -> TokenMarket:
    return TokenMarket(market, get_asset(market.base), get_asset(market.quote))


def market_of_tokens(token_a: str, token_b: str, field: str = "takerTokenAddress") -> TokenMarket:
    """The market trading these two tokens, in either order."""
    a, b = token_asset(token_a, field), token_asset(token_b, field)
    try:
        market, _ = orders.market_for(a.name, b.name)
    except InvalidInput as error:
        raise UnknownPair(f"no market trades {a.name} against {b.name}", field=field) from error
    return token_market(market)


def token_markets() -> list[TokenMarket]:
    """Markets whose two assets both have a token address (the only ones 0x clients can name)."""
    found = []
    for market in list_markets():
        tm = token_market(market)
        if tm.base.token_address and tm.quote.token_address:
            found.append(tm)
    return found


def token_markets_with_stats(clock: Clock) -> list[tuple[TokenMarket, DayStats]]:
    return [(tm, day_stats(tm.market, clock)) for tm in token_markets()]


def markets_of_token(token_address: str, field: str = "tokenAddress") -> list[TokenMarket]:
    asset = token_asset(token_address, field)
    return [tm for tm in token_markets() if asset.name in (tm.base.name, tm.quote.name)]


def resolve_pair(pair: str, field: str = "pair") -> TokenMarket:
    """A market named by its id (`ZRX-WETH`) or by one token address.

    A token address names the market where it is the base (the traded token); a token that
    is no market's base names the one market it quotes. Where that is still several (a base
    of several markets, or a quote token such as WETH of several), the market id must be used.
    """
    text = pair.strip()
    if text.lower().startswith("0x"):
        found = markets_of_token(text, field)
        as_base = [tm for tm in found if (tm.base.token_address or "") == text.lower()]
        found = as_base or found
        if len(found) == 1:
            return found[0]
        if not found:
            raise UnknownPair(f"token {text.lower()} trades in no market", field=field)
        names = ", ".join(sorted(tm.market.id for tm in found))
        raise UnknownPair(f"token {text.lower()} trades in several markets ({names}): give the market id",
                          field=field)
    market = find_market(normalize_name(text)) if text else None
    if market is None:
        raise UnknownPair(f"no market {text!r}", field=field)
    return token_market(market)


@dataclass(frozen=True)
class TokenOrder:
    """An order whose sides are named by token address: the maker gives makerToken."""

    maker: str
    maker_token: str
    maker_amount: int
    taker_token: str
    taker_amount: int
    expires_at: int
    order_hash: str
    taker: str | None
    signed_order: dict[str, str]


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    created: bool
    market: TokenMarket


def place_token_order(order: TokenOrder, clock: Clock) -> PlacedOrder:
    """Lock the maker's `maker_amount` of makerToken and open the order (idempotent on the hash)."""
    give = token_asset(order.maker_token, "makerTokenAddress")
    get = token_asset(order.taker_token, "takerTokenAddress")
    try:
        market, side = orders.market_for(give.name, get.name)
    except InvalidInput as error:
        raise UnknownPair(f"no market trades {give.name} against {get.name}", field="takerTokenAddress") from error
    base, quote = (give, get) if side == "sell" else (get, give)
    request = orders.OrderRequest(
        source=order.maker.lower(), give_asset=give.name, give_quantity=order.maker_amount,
        get_asset=get.name, get_quantity=order.taker_amount,
        expires_at=order.expires_at,
        tx_hash=order.order_hash, taker=order.taker.lower() if order.taker else None, dialect="0x",
        signed_order=dict(order.signed_order), market=market.id,
    )
    placed, created = orders.place_order(request, clock)
    return PlacedOrder(placed, created, TokenMarket(market, base, quote))


# -- order lists (Query only) ---------------------------------------------------------------

def book_side(market_id: str, side: str, signed_only: bool = False) -> Iterator[Order]:
    """One side ("buy" or "sell") of a market's open book, best price first, read lazily
    from the `book` local index (strongly consistent). `signed_only`: only signed 0x orders
    (a filter on the Query, which pages on until it has them)."""
    letter = {"buy": "B", "sell": "S"}[side]
    public = stores.orders().open_side(market_id, letter, signed_only=signed_only)
    # Taker-restricted orders live in their own key space (T#<taker>#<side>#...), off the
    # public sides that settlement reads; the 0x views show them too, merged by price.
    restricted = sorted(stores.orders().open_side(market_id, letter, restricted=True, signed_only=signed_only),
                        key=_side_key)
    return heapq.merge(public, restricted, key=_side_key)


def _side_key(order: Order) -> str:
    return order.book_key.split("#")[-1]


def open_orders_of(source: str) -> Iterator[Order]:
    """An owner's open orders, from the sparse `open_by_source` index."""
    return stores.orders().open_of_source(source)


def orders_of(source: str) -> Iterator[Order]:
    """An owner's orders of every status, newest first."""
    return stores.orders().of_source(source)


def orders_for_taker(taker: str) -> Iterator[Order]:
    """Orders only `taker` may fill (sparse `by_taker` index), newest first."""
    return stores.orders().for_taker(taker.lower())


def book_depth(market_id: str, side: str, at_least: int, signed_only: bool = False) -> list[Order]:
    """The best `at_least` open orders of one side, plus any further orders at the same
    price as the last of them (so a caller re-sorting ties sees the whole tie)."""
    taken: list[Order] = []
    for order in book_side(market_id, side, signed_only):
        if len(taken) >= at_least:
            last = taken[-1]
            if order.get_quantity * last.give_quantity != order.give_quantity * last.get_quantity:
                break
        taken.append(order)
    return taken


def open_order_candidates(market_ids: list[str], *, maker: str | None = None, taker: str | None = None,
                          trader: str | None = None) -> Iterator[Order]:
    """Open orders of the given markets, read through the narrowest index a filter allows:
    a maker's (or trader's) own open orders, the orders reserved for a taker, else the books.
    Callers apply their remaining filters to what this yields."""
    wanted = set(market_ids)
    seen: set[str] = set()

    def keep(found: Iterator[Order]) -> Iterator[Order]:
        for order in found:
            if order.market in wanted and order.status == "open" and order.tx_hash not in seen:
                seen.add(order.tx_hash)
                yield order

    if maker:
        yield from keep(open_orders_of(maker.lower()))
    elif trader:
        yield from keep(open_orders_of(trader.lower()))
        yield from keep(orders_for_taker(trader))
    elif taker:
        yield from keep(orders_for_taker(taker))
    else:
        for market_id in sorted(wanted):
            for side in ("buy", "sell"):
                yield from keep(book_side(market_id, side, signed_only=True))

