"""CORS as a browser enforces it: pages on other origins, in headless Debian Chromium (driven by
Playwright, never its own browser download), call the whole stack as `make run` starts it.

The stack allows one origin (LAMBDEX_CORS_ORIGINS): a page there reads /v0/orderbook, signs
in with /v0/auth (the signature is computed here, with eth-account), and makes a credentialed
call (Authorization: a preflighted request); /admin refuses it. A page on an origin that is
not listed cannot read anything. And /docs works with no network beyond the API: Swagger UI
from the app itself (no CDN), the admin routes left out, a notice when the viewer does not load.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
from eth_account.messages import encode_defunct

from chalicelib.auth.ethereum import keccak
from tests.api.relayer_helpers import ALICE, WETH, ZRX, addr
from tests.integration.test_end_to_end import Stack
from tests.support import NO_DYNAMODB_LOCAL, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

PAGE = """<!doctype html><meta charset="utf-8"><title>cross-origin client</title>
<script>
async function call(url, options) {
  try {
    const response = await fetch(url, options);
    return {status: response.status, body: await response.json()};
  } catch (error) {
    return {blocked: String(error)};
  }
}
window.run = async ({api, base, quote, auth}) => {
  const out = {};
  out.orderbook = await call(`${api}/v0/orderbook?baseTokenAddress=${base}&quoteTokenAddress=${quote}`);
  out.auth = await call(`${api}/v0/auth`, {method: "POST", headers: {"Content-Type": "application/json"},
                                           body: JSON.stringify(auth)});
  const token = out.auth.body && out.auth.body.token;
  const bearer = {headers: {"Authorization": `Bearer ${token}`}};
  out.openOrders = await call(`${api}/v0/openOrders`, bearer);
  out.admin = await call(`${api}/admin/assets`, {headers: {"Authorization": "Bearer e2e-admin"}});
  return out;
};
</script>"""


def serve_page(directory: Path, port: int) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def sign_in_body() -> dict:
    data = keccak(b"Sign this message to verify your authority of current address !")
    signed = ALICE.sign_message(encode_defunct(primitive=data))
    return {"address": addr(ALICE), "data": "0x" + data.hex(), "signature": "0x" + bytes(signed.signature).hex()}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (`make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    if NO_DYNAMODB_LOCAL and not os.environ.get("CI"):
        pytest.skip(NO_DYNAMODB_LOCAL)
    pages = tmp_path_factory.mktemp("pages")
    (pages / "index.html").write_text(PAGE)
    allowed, other = serve_page(pages, free_port()), serve_page(pages, free_port())
    allowed_origin = f"http://127.0.0.1:{allowed.server_address[1]}"
    stack = Stack(tmp_path_factory.mktemp("cors") / "ddb")
    stack.env["LAMBDEX_CORS_ORIGINS"] = f"https://app.example.com, {allowed_origin}"
    try:
        with stack:
            for name, token in (("ZRX", ZRX), ("WETH", WETH)):
                assert stack.post("/admin/assets", {"name": name, "decimals": 18, "token_address": token}
                                  ).status_code == 201
            assert stack.post("/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH"}).status_code == 201
            yield stack, allowed_origin, f"http://127.0.0.1:{other.server_address[1]}"
    finally:
        allowed.shutdown()
        other.shutdown()


def run_page(browser, origin: str, stack) -> dict:
    page = browser.new_page()
    try:
        page.goto(f"{origin}/index.html")
        return page.evaluate("args => window.run(args)",
                             {"api": stack.url, "base": ZRX, "quote": WETH, "auth": sign_in_body()})
    finally:
        page.close()


def test_a_page_on_an_allowed_origin_reads_the_book_and_signs_in(browser, setup) -> None:
    stack, allowed_origin, _ = setup
    out = run_page(browser, allowed_origin, stack)
    assert out["orderbook"] == {"status": 200, "body": {"bids": [], "asks": []}}
    assert out["auth"]["status"] == 200 and out["auth"]["body"]["token"].count(".") == 2
    assert out["openOrders"]["status"] == 200  # preflighted: Authorization is an allowed header
    assert "blocked" in out["admin"]  # /admin answers no browser on another origin


def test_a_page_on_another_origin_is_refused_by_the_browser(browser, setup) -> None:
    stack, _, other_origin = setup
    out = run_page(browser, other_origin, stack)
    assert {name: "blocked" in result for name, result in out.items()} == {
        "orderbook": True, "auth": True, "openOrders": True, "admin": True}


def test_preflight_headers_on_the_wire(setup) -> None:
    import requests

    stack, allowed_origin, other_origin = setup
    ask = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
    private = requests.options(f"{stack.url}/v0/openOrders", headers={"Origin": allowed_origin, **ask}, timeout=30)
    assert private.status_code == 200
    assert private.headers["Access-Control-Allow-Origin"] == allowed_origin
    assert private.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Authorization" in private.headers["Access-Control-Allow-Headers"].split(",")
    assert private.headers["Vary"] == "Origin"
    refused = requests.options(f"{stack.url}/v0/openOrders", headers={"Origin": other_origin, **ask}, timeout=30)
    assert "Access-Control-Allow-Origin" not in refused.headers
    admin = requests.options(f"{stack.url}/admin/assets", headers={"Origin": allowed_origin, **ask}, timeout=30)
    assert "Access-Control-Allow-Origin" not in admin.headers
    public = requests.get(f"{stack.url}/v0/token_pairs", headers={"Origin": allowed_origin}, timeout=30)
    assert public.headers["Access-Control-Allow-Origin"] == allowed_origin
    assert "Access-Control-Allow-Credentials" not in public.headers


# -- /docs offline: Swagger UI from the app itself, nothing from another origin ------------------

def open_docs(browser, stack, block: str | None = None) -> tuple[object, list[str], list[str]]:
    """The /docs page with every request to another origin (or to `block`) refused."""
    page = browser.new_page()
    outside, problems = [], []

    def route(request_route):
        url = request_route.request.url
        if not url.startswith(stack.url) or (block and block in url):
            outside.append(url)
            return request_route.abort()
        return request_route.continue_()

    page.route("**/*", route)
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{stack.url}/docs")
    return page, outside, problems


def test_docs_render_swagger_ui_offline_without_the_admin_routes(browser, setup) -> None:
    stack, _, _ = setup
    page, outside, problems = open_docs(browser, stack)
    try:
        page.wait_for_selector("#swagger-ui .info .title", timeout=60_000)
        assert "Lambdex" in page.inner_text("#swagger-ui .info .title")
        page.wait_for_selector("#swagger-ui .opblock", timeout=60_000)
        assert page.is_hidden("#viewer-notice") and page.is_hidden("#routes")
        shown = page.inner_text("#swagger-ui")
        assert "/v0/orderbook" in shown and "/admin" not in shown
        page.click("#swagger-ui .btn.authorize")
        dialog = page.wait_for_selector(".dialog-ux .modal-ux", timeout=30_000).inner_text()
        assert "coinbtrToken" in dialog and "adminBearer" not in dialog  # never asks for the admin token
        assert outside == [] and not [p for p in problems if "Content Security Policy" in p], problems
    finally:
        page.close()


def test_docs_say_so_when_the_viewer_does_not_load(browser, setup) -> None:
    stack, _, _ = setup
    page, outside, _ = open_docs(browser, stack, block="swagger-ui-bundle.js")
    try:
        page.wait_for_load_state("load")
        assert outside and all("swagger-ui-bundle.js" in url for url in outside)
        assert page.is_visible("#viewer-notice") and "did not load" in page.inner_text("#viewer-notice")
        assert page.is_visible("#routes") and "/v0/orderbook" in page.inner_text("#routes")
    finally:
        page.close()
