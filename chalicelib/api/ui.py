"""The live market pages: `GET /ui/` (the markets) and `GET /ui/markets/{market_id}` (a
market's book, depth chart, trades and 24 h figures, live over the WebSocket API).

No build step and no CDN: the page is plain HTML, one script and one stylesheet served
from `chalicelib/ui/` by `GET /ui/assets/{name}` with an ETag and a day's Cache-Control
(the name carries no version: a changed file has another ETag). `GET /ui/data/{market_id}`
is the JSON the page starts from and polls when the WebSocket is down: the same snapshots
the `book`, `trades` and `ticker` channels give (docs/realtime.md).
"""

from __future__ import annotations

import hashlib
import html
import json
from functools import cache
from pathlib import Path

from chalice import Blueprint, Response

from chalicelib import settings
from chalicelib.errors import NotFound
from chalicelib.ledger.clock import current as clock
from chalicelib.ledger.markets import get_market, list_markets
from chalicelib.ledger.tokens import token_market
from chalicelib.realtime import snapshots

ui = Blueprint(__name__)

ASSETS_DIR = Path(__file__).resolve().parents[1] / "ui"
ASSETS = {"market.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}  # nothing else
HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"}


def _asset(name: str) -> tuple[str, str, str] | None:
    return _load_asset(name) if name in ASSETS else None  # only known names reach the cache


@cache
def _load_asset(name: str) -> tuple[str, str, str]:
    body = (ASSETS_DIR / name).read_text()  # text: API Gateway passes it as is (only binary types need base64)
    return body, ASSETS[name], '"' + hashlib.sha256(body.encode()).hexdigest()[:20] + '"'


@cache
def _template(name: str) -> str:
    return (ASSETS_DIR / name).read_text()


def _page(body: str, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers=HTML)


def _not_found(what: str) -> Response:
    """A browser (Accept: text/html) gets a page; any other client the root dialect's JSON error."""
    if "text/html" not in ((ui.current_request.headers or {}).get("accept") or ""):
        return _json_error(what)
    return _page(_template("page.html").format(title="Not found", base="../", script="",
                                               body=f"<main class='empty'><h1>Not found</h1><p>{html.escape(what)}"
                                                    "</p><p><a href='../'>All markets</a></p></main>"), 404)


def _json_error(what: str) -> Response:
    return Response(body=json.dumps({"error": what}), status_code=404, headers={"Content-Type": "application/json"})


@ui.route("/ui", methods=["GET"])
def market_list_page():
    """The markets, each with its last price and 24 h figures (links to the live pages)."""
    # Links relative to the page, which is served as /ui and /ui/ (and under a stage's path in AWS).
    path = (ui.current_request.context or {}).get("path") or "/ui"
    here = "" if path.endswith("/") else "ui/"
    rows = []
    for market in list_markets():
        tm = token_market(market)
        ticker = snapshots.ticker(tm, clock())
        change = ticker["change24hPercent"]
        trend = "" if change is None else ("up" if not change.startswith("-") else "down")
        rows.append(
            f"<tr><td><a href='{here}markets/{html.escape(market.id)}'>{html.escape(market.id)}</a>"
            f"<div class='muted'>{html.escape(market.name or f'{market.base} / {market.quote}')}</div></td>"
            f"<td class='num'>{html.escape(ticker['last'] or '–')}</td>"
            f"<td class='num {trend}'>{html.escape(change + ' %' if change is not None else '–')}</td>"
            f"<td class='num'>{html.escape(ticker['high24h'] or '–')}</td>"
            f"<td class='num'>{html.escape(ticker['low24h'] or '–')}</td>"
            f"<td class='num'>{html.escape(ticker['volume24h'])} {html.escape(market.base)}</td></tr>")
    table = ("<table class='markets'><thead><tr><th>Market</th><th class='num'>Last</th><th class='num'>24 h</th>"
             "<th class='num'>High</th><th class='num'>Low</th><th class='num'>Volume</th></tr></thead><tbody>"
             + "".join(rows) + "</tbody></table>") if rows else "<p class='muted'>No markets yet.</p>"
    body = f"<header class='bar'><a class='brand' href='{here or './'}'>Lambdex</a></header><main class='list'>" \
           f"<h1>Markets</h1>{table}</main>"
    return _page(_template("page.html").format(title="Markets · Lambdex", base=here, script="", body=body))


@ui.route("/ui/markets/{market_id}", methods=["GET"])
def market_page(market_id):
    """A market's live page: order book, depth chart, recent trades, last price and 24 h figures."""
    try:
        market = get_market(market_id)
    except NotFound:
        return _not_found(f"no market {market_id!r}")
    config = html.escape(json.dumps({"market": market.id, "base": market.base, "quote": market.quote,
                                     "ws": settings.get("LAMBDEX_WS_URL")}), quote=True)
    body = _template("market.html").format(market=html.escape(market.id), base=html.escape(market.base),
                                           quote=html.escape(market.quote), config=config)
    return _page(_template("page.html").format(title=f"{html.escape(market.id)} · Lambdex", base="../",
                                               script="<script src='../assets/market.js' defer></script>",
                                               body=body))


@ui.route("/ui/data/{market_id}", methods=["GET"])
def market_data(market_id):
    """The market's book, recent trades and ticker: what the page starts from and polls when its socket is down."""
    try:
        tm = token_market(get_market(market_id))
    except NotFound:
        return _json_error(f"no market {market_id!r}")
    now = int(clock().now())
    body = {"book": snapshots.book(tm, now), "trades": snapshots.trades(tm, now),
            "ticker": snapshots.ticker(tm, clock())}
    return Response(body=json.dumps(body), status_code=200,
                    headers={"Content-Type": "application/json", "Cache-Control": "no-store"})


@ui.route("/ui/assets/{name}", methods=["GET"])
def asset(name):
    """The page's script and stylesheet (ETag, cacheable for a day)."""
    found = _asset(name)
    if found is None:
        return _json_error(f"no asset {name!r}")
    body, content_type, etag = found
    headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
    if (ui.current_request.headers or {}).get("if-none-match") == etag:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=body, status_code=200, headers={**headers, "Content-Type": content_type})
