"""The WebSocket API's three routes: `$connect`, messages, `$disconnect`.

Each takes the API Gateway event (a dict: `requestContext.connectionId`, `domainName`,
`stage`, and `body` for a message) and answers over `gateway.post`, so the same code serves
API Gateway and the local server. A bad message gets an `error` message; the connection
stays open and usable.
"""

from __future__ import annotations

import logging

from chalicelib import settings
from chalicelib.auth import apikeys, sessions
from chalicelib.errors import LedgerError, NotFound
from chalicelib.ledger import tokens
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.markets import get_market
from chalicelib.realtime import channels, connections, gateway, snapshots
from chalicelib.realtime.channels import ProtocolError, Request, envelope

log = logging.getLogger("lambdex.realtime")


def _ids(event: dict) -> tuple[str, str | None]:
    context = event.get("requestContext") or {}
    domain, stage = context.get("domainName"), context.get("stage")
    endpoint = f"https://{domain}/{stage}" if domain and stage else None
    return context["connectionId"], endpoint


def connect(event: dict, clock: Clock) -> dict:
    connection_id, _ = _ids(event)
    connections.add_connection(connection_id, int(clock.now()))
    return {"statusCode": 200}


def disconnect(event: dict) -> dict:
    connection_id, _ = _ids(event)
    removed = connections.remove_connection(connection_id)
    log.info("ws disconnect", extra={"connection": connection_id, "items": removed})
    return {"statusCode": 200}


def message(event: dict, clock: Clock) -> dict:
    connection_id, endpoint = _ids(event)
    try:
        reply = answer(connection_id, channels.parse(event.get("body")), clock)
    except ProtocolError as error:
        reply = error.message()
    except LedgerError as error:  # e.g. an unknown market or token pair
        reply = ProtocolError(str(error), field=getattr(error, "field", None)).message()
    if reply is None:
        return {"statusCode": 200}
    try:
        gateway.current(endpoint).post(connection_id, channels.encode(reply))
    except gateway.Gone:
        connections.remove_connection(connection_id)
    return {"statusCode": 200}


def answer(connection_id: str, request: Request, clock: Clock) -> dict | None:
    if request.type == "ping":
        return envelope("pong", None, request.request_id, {})
    if request.type == "unsubscribe":
        removed = connections.unsubscribe(connection_id, request.channel, request.request_id)
        return envelope("unsubscribed", request.channel, request.request_id, {"removed": removed})
    if connections.count_subscriptions(connection_id) >= connections.MAX_SUBSCRIPTIONS:
        raise ProtocolError(f"at most {connections.MAX_SUBSCRIPTIONS} subscriptions per connection",
                            channel=request.channel, request_id=request.request_id)
    now = int(clock.now())
    if request.channel == "orderbook":
        return _subscribe_sra(connection_id, request, now)
    if request.channel == "orders":
        account = authenticate(request, now)
        connections.subscribe(connection_id, "orders", account, request.request_id, {}, now)
        return envelope("snapshot", "orders", request.request_id,
                        {"account": account, "orders": snapshots.open_orders(account)})
    tm = _market(request)
    # Subscribe first, then read: a change committed after the read reaches this subscription.
    connections.subscribe(connection_id, request.channel, tm.market.id, request.request_id, {}, now)
    if request.channel == "book":
        payload = snapshots.book(tm, now)
    elif request.channel == "trades":
        payload = snapshots.trades(tm, now)
    else:
        payload = snapshots.ticker(tm, clock)
    return envelope("snapshot", request.channel, request.request_id, payload)


def _market(request: Request) -> tokens.TokenMarket:
    name = channels.market_option(request)
    try:
        return tokens.token_market(get_market(name))
    except NotFound:
        raise ProtocolError(f"no market {name!r}", field="market", channel=request.channel,
                            request_id=request.request_id) from None


def _subscribe_sra(connection_id: str, request: Request, now: int) -> dict | None:
    from chalicelib.api.relayer import sra_orderbook

    base, quote, snapshot, limit = channels.sra_options(request)
    try:
        tm = tokens.market_of_tokens(base, quote, "baseTokenAddress")
    except LedgerError as error:
        raise ProtocolError(str(error), field=getattr(error, "field", None) or "baseTokenAddress",
                            channel="orderbook", request_id=request.request_id) from None
    options = {"baseTokenAddress": base, "quoteTokenAddress": quote}
    connections.subscribe(connection_id, "orderbook", tm.market.id, request.request_id, options, now)
    if not snapshot:
        return None  # SRA v0: updates only, and it defines no acknowledgement
    book = sra_orderbook(base, quote, 1, limit)
    while len(channels.encode(book)) > channels.MAX_POST_BYTES:  # API Gateway's message limit
        longer = max(("bids", "asks"), key=lambda side: len(book[side]))
        book[longer].pop()  # the worst-priced order of the longer side
    return envelope("snapshot", "orderbook", request.request_id, book)


def authenticate(request: Request, now: int) -> str:
    """The account of an `orders` subscribe: a CoinBTR API key (read scope) or a relayer JWT."""
    key, token = request.payload.get("apiKey"), request.payload.get("token")
    denied = ProtocolError("Unauthorized: give payload.apiKey (a CoinBTR API key) or payload.token "
                           "(a relayer JWT from POST /v0/auth)", code=channels.UNAUTHORIZED,
                           channel="orders", request_id=request.request_id)
    if isinstance(key, str) and key:
        found = apikeys.authenticate(key)
        if found is None or not {"read", "trade"} & set(found.scopes):
            raise denied
        return found.account
    if isinstance(token, str) and token:
        try:
            return sessions.verify_token_any(token, settings.jwt_secrets(), now)
        except sessions.SessionError:
            raise denied from None
    raise denied


