"""The market pages' routes: HTML, the JSON the page polls, and cacheable assets."""

from __future__ import annotations

import json

from tests.support import post


def setup_market(client):
    for name in ("ZRX", "WETH"):
        assert post(client, "/admin/assets", {"name": name, "decimals": 8}).status_code == 201
    assert post(client, "/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH", "fee": "0",
                                           "name": "0x <script>"}).status_code == 201


def test_the_list_and_the_market_page_are_html_with_the_socket_url(client):
    setup_market(client)
    listing = client.http.get("/ui")
    assert listing.status_code == 200 and listing.headers["Content-Type"].startswith("text/html")
    assert "href='ui/markets/ZRX-WETH'" in listing.body.decode()
    assert "0x &lt;script&gt;" in listing.body.decode()  # escaped, never markup
    page = client.http.get("/ui/markets/zrx-weth")
    text = page.body.decode()
    assert page.status_code == 200 and "../assets/market.js" in text and "../assets/style.css" in text
    assert "&quot;market&quot;: &quot;ZRX-WETH&quot;" in text


def test_an_unknown_market_is_a_404_page(client):
    setup_market(client)
    page = client.http.get("/ui/markets/NOPE-NOPE", headers={"Accept": "text/html,*/*"})  # a browser
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert "no market" in page.body.decode()
    api = client.http.get("/ui/markets/NOPE-NOPE")  # anything else: the root dialect's JSON error
    assert api.status_code == 404 and json.loads(api.body) == {"error": "no market 'NOPE-NOPE'"}
    data = client.http.get("/ui/data/NOPE-NOPE")
    assert data.status_code == 404 and json.loads(data.body) == {"error": "no market 'NOPE-NOPE'"}


def test_data_is_the_channels_snapshots(client):
    setup_market(client)
    key = json.loads(post(client, "/admin/apikeys", {"account": "a", "scopes": ["read", "trade"]}).body)["key"]
    post(client, "/admin/deposits", {"coin": "WETH", "txid": "t", "address": "a", "amount": "10"})
    from chalicelib.events import scheduler
    from chalicelib.ledger.clock import current

    scheduler.run(current())
    placed = client.http.post("/api/v1/trading/place/buylimit", headers={
        "Authorization": f"Token {key}", "Content-Type": "application/json"},
        body=json.dumps({"market": "ZRX-WETH", "price": "0.5", "amount": "2"}))
    assert placed.status_code == 200, placed.body
    data = json.loads(client.http.get("/ui/data/ZRX-WETH").body)
    assert data["book"]["bids"] == [["0.5", "2"]] and data["book"]["asks"] == []
    assert data["trades"]["trades"] == [] and data["ticker"]["bestBid"] == "0.5"


def test_assets_are_cacheable_with_an_etag(client):
    first = client.http.get("/ui/assets/market.js")
    assert first.status_code == 200 and first.headers["Content-Type"].startswith("text/javascript")
    assert first.headers["Cache-Control"] == "public, max-age=86400"
    etag = first.headers["ETag"]
    again = client.http.get("/ui/assets/market.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.body in (b"", "")
    assert client.http.get("/ui/assets/style.css").headers["Content-Type"].startswith("text/css")
    for name in ("nope.js", "page.html", "..%2Fapi%2Fui.py"):
        missing = client.http.get(f"/ui/assets/{name}")
        assert missing.status_code == 404 and "error" in json.loads(missing.body), name
