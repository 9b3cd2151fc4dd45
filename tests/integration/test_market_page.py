"""The live market page in headless Chromium (Debian's `chromium`, driven by Playwright for
Python against the system browser) on the running stack: crossing orders placed over the
CoinBTR API show up on the rendered page as a trade and as the new depth, over the
WebSocket, and again with the socket off (the polling fallback). `make test` installs the
browser when it is missing; in CI a missing browser fails the test instead of skipping it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.integration.test_end_to_end import Stack
from tests.support import NO_DYNAMODB_LOCAL

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
WAIT_MS = 30_000  # generous: a loaded 2-core machine
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if NO_DYNAMODB_LOCAL and not os.environ.get("CI"):
        pytest.skip(NO_DYNAMODB_LOCAL)
    with Stack(tmp_path_factory.mktemp("page") / "ddb") as running:
        for name in ("ZRX", "WETH"):
            assert running.post("/admin/assets", {"name": name, "decimals": 8}).status_code == 201
        assert running.post("/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH", "fee": "0",
                                               "name": "0x / Wrapped Ether"}).status_code == 201
        running.keys = {}
        for account, coin in (("maker", "ZRX"), ("taker", "WETH"), ("mm", "ZRX"), ("mm", "WETH")):
            if account not in running.keys:
                running.keys[account] = running.post("/admin/apikeys", {"public": True, "account": account,
                                                                        "scopes": ["read", "trade"]}).json()["key"]
            assert running.post("/admin/deposits", {"coin": coin, "txid": f"fund-{account}-{coin}",
                                                    "address": account, "amount": "100000"}).status_code == 201
        yield running


@pytest.fixture(scope="module")
def browser():
    if not HAVE_CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (make test installs it: apt-get install -y chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def order(stack, side: str, price: str, amount: str, who: str) -> str:
    response = stack.post(f"/api/v1/trading/place/{side}limit", {"market": "ZRX-WETH", "price": price,
                                                                  "amount": amount},
                          headers={"Authorization": f"Token {stack.keys[who]}"})
    assert response.status_code == 200, response.text
    return response.json()["data"]["id"]


def cancel_left_over(stack, placed: list[tuple[str, str]]) -> None:
    """Cancel each (who, order id) still open, so the next test's book holds only its own orders
    (a filled or cancelled one answers an error, which is fine)."""
    for who, order_id in placed:
        stack.post("/api/v1/trading/cancel", {"id": order_id}, headers={"Authorization": f"Token {stack.keys[who]}"})


def level(page, side: str, price: str):
    return page.locator(f"#{side} > div[data-price='{price}']")


def test_the_market_list_links_to_each_market(stack, browser):
    page = browser.new_page()
    try:
        page.goto(f"{stack.url}/ui/", wait_until="domcontentloaded", timeout=WAIT_MS)
        link = page.locator("table.markets a", has_text="ZRX-WETH")
        link.wait_for(timeout=WAIT_MS)
        assert "0x / Wrapped Ether" in page.locator("table.markets").inner_text()
        link.click()
        page.wait_for_url("**/ui/markets/ZRX-WETH", timeout=WAIT_MS)
        assert page.locator(".pair-name").inner_text() == "ZRX-WETH"
    finally:
        page.close()


def test_crossing_orders_appear_live_as_a_trade_and_new_depth(stack, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 820})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    placed: list[tuple[str, str]] = []
    try:
        placed.append(("mm", order(stack, "buy", "0.42", "30", "mm")))  # some depth on both sides first
        placed.append(("mm", order(stack, "sell", "0.58", "25", "mm")))
        page.goto(f"{stack.url}/ui/markets/ZRX-WETH", wait_until="domcontentloaded", timeout=WAIT_MS)
        page.locator("#status[data-state='live']").wait_for(timeout=WAIT_MS)
        level(page, "bids", "0.42").wait_for(timeout=WAIT_MS)

        placed.append(("maker", order(stack, "sell", "0.5", "4", "maker")))
        ask = level(page, "asks", "0.5")
        ask.wait_for(timeout=WAIT_MS)
        assert ask.get_attribute("data-amount") == "4"

        order(stack, "buy", "0.5", "3", "taker")  # crosses: 3 of the 4 trade at 0.5
        trade = page.locator("#trades > div[data-id]").first
        trade.wait_for(timeout=WAIT_MS)
        page.wait_for_function("document.querySelector(\"#asks > div[data-price='0.5']\")"
                               " && document.querySelector(\"#asks > div[data-price='0.5']\").dataset.amount === '1'",
                               timeout=WAIT_MS)
        assert trade.locator("span").nth(0).inner_text() == "0.5"
        assert trade.locator("span").nth(1).inner_text() == "3"
        page.wait_for_function("document.getElementById('last-price').textContent === '0.5'", timeout=WAIT_MS)
        assert page.locator("#volume").inner_text() == "3"
        assert level(page, "bids", "0.42").get_attribute("data-amount") == "30"
        depth_drawn = page.evaluate("""() => {
            const c = document.getElementById('depth-chart');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let coloured = 0; for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) coloured++; return coloured; }""")
        assert depth_drawn > 1000  # the depth areas are painted
        ids = page.locator("#trades > div[data-id]").evaluate_all("rows => rows.map(r => r.dataset.id)")
        assert len(ids) == len(set(ids)) == 1  # one trade, shown once
        assert not errors, errors
        shot = os.environ.get("LAMBDEX_SCREENSHOT")
        page.screenshot(path=shot or str(Path(stack.log).with_suffix(".png")), full_page=True)
    finally:
        page.close()
        cancel_left_over(stack, placed)  # the 1 left at 0.5 and the depth


def test_with_the_socket_down_the_page_polls_the_http_routes(stack, browser):
    page = browser.new_page()
    placed: list[tuple[str, str]] = []
    try:
        page.goto(f"{stack.url}/ui/markets/ZRX-WETH?transport=polling", wait_until="domcontentloaded",
                  timeout=WAIT_MS)
        page.locator("#status[data-state='polling']").wait_for(timeout=WAIT_MS)
        placed.append(("maker", order(stack, "sell", "0.5", "1", "maker")))
        placed.append(("maker", order(stack, "sell", "0.55", "2", "maker")))
        level(page, "asks", "0.55").wait_for(timeout=WAIT_MS)
        level(page, "asks", "0.5").wait_for(timeout=WAIT_MS)
        before = page.locator("#trades > div[data-id]").count()
        placed.append(("taker", order(stack, "buy", "0.55", "3", "taker")))  # takes the 1 at 0.5, then the 2 at 0.55
        page.wait_for_function(f"document.querySelectorAll('#trades > div[data-id]').length >= {before + 2}",
                               timeout=WAIT_MS)
        page.wait_for_function("!document.querySelector(\"#asks > div[data-price='0.55']\")"
                               " && !document.querySelector(\"#asks > div[data-price='0.5']\")", timeout=WAIT_MS)
        prices = page.locator("#trades > div[data-id] > span:first-child").all_inner_texts()
        assert sorted(prices[:2]) == ["0.5", "0.55"]
        assert page.locator("#status").get_attribute("data-state") == "polling"
    finally:
        page.close()
        cancel_left_over(stack, placed)
