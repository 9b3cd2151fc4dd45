"""schemathesis against the whole local stack, from its own /openapi.json: no input gives a 5xx.

Then what the document cannot describe: generated unknown paths under every dialect's prefix,
every method a route lacks, wrong content types, deeply nested, oversized and unparseable
bodies, each to every served operation. Every answer must be a 4xx in the error body of the
dialect owning the path: never a 5xx, never Chalice's `{"Code", "Message"}`, never API
Gateway's "Missing Authentication Token".

The stack is started as `make run` starts it (tests/integration/test_end_to_end.py), seeded
with two assets with token addresses, a market, a converter pair, a funded CoinBTR account
with every scope, an order and a 0x session, and every operation is then sent a bounded
number of generated requests (valid and invalid) with the credentials of its security
scheme (admin bearer, algod token, CoinBTR `Token`, relayer JWT), so that the routes are
exercised past their auth checks. Only loopback traffic.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from chalicelib.api import dialects
from tests.integration.test_end_to_end import Stack, data_dir  # noqa: F401 - data_dir is a fixture
from tests.support import is_dialect_error

MAX_EXAMPLES = int(os.environ.get("LAMBDEX_FUZZ_EXAMPLES", "25"))
JWT_SECRET = "fuzz-jwt-secret-0123456789abcdef0123456789"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAKER = "0x" + "ab" * 20
PROBES = int(os.environ.get("LAMBDEX_FUZZ_PROBES", "150"))
PREFIXES = ["/api/v1/", "/market/", "/api/", "/v0/", "/v2/", "/admin/", "/assets/", "/orders/", "/addresses/", "/"]
SEGMENT = "abcXYZ019-_.~%20é"


def seed(url: str, admin_token: str, jwt_secret: str) -> dict[str, str]:
    """A little of everything; returns the credentials of each security scheme."""
    admin = {"Authorization": f"Bearer {admin_token}"}

    def post(path, body, headers=admin, expect=(200, 201)):
        r = requests.post(url + path, json=body, headers=headers, timeout=60)  # generous on a loaded machine
        assert r.status_code in expect, (path, r.status_code, r.text)
        return r.json()

    post("/admin/assets", {"name": "ZRX", "decimals": 8, "token_address": "0x" + "11" * 20, "issuer": MAKER,
                           "supply": 10**12}, expect=(201, 409))
    post("/admin/assets", {"name": "WETH", "decimals": 8, "token_address": "0x" + "22" * 20}, expect=(201, 409))
    post("/admin/assets", {"name": "LTC", "decimals": 8}, expect=(201, 409))
    post("/admin/assets", {"name": "SGTK", "decimals": 3, "deposit": "memo", "deposit_account": "lambdex-sgtk"},
         expect=(201, 409))
    post("/admin/markets", {"id": "ZRX-WETH", "base": "ZRX", "quote": "WETH", "fee": "0.001"}, expect=(201, 409))
    post("/admin/pairs", {"from_coin": "LTC", "to_coin": "SGTK", "exchange_rate": "100", "ex_fee": "1"},
         expect=(201, 409))
    key = post("/admin/apikeys", {"public": True, "account": "fuzzer", "scopes": ["read", "trade", "withdraw"]})["key"]
    for coin in ("ZRX", "WETH", "LTC"):
        post("/admin/deposits", {"coin": coin, "txid": f"seed-{coin}", "address": "fuzzer", "amount": "1000"})
    token = {"Authorization": f"Token {key}"}
    deadline = time.time() + 90  # the scheduler's pass credits them: slow on a loaded machine
    while len(requests.get(url + "/addresses/fuzzer/balances", timeout=60).json()) < 3:
        assert time.time() < deadline, "the seed deposits were not credited"
        time.sleep(0.3)
    post("/api/v1/trading/place/selllimit", {"market": "ZRX-WETH", "price": "2", "amount": "1"}, token)
    post("/api/v1/trading/place/buylimit", {"market": "ZRX-WETH", "price": "1", "amount": "1"}, token)
    post("/api/convert", {"from_coin": "LTC", "to_coin": "SGTK", "destination": "someguy123"}, {})
    from chalicelib.auth import sessions

    return {"admin": admin_token, "coinbtr": f"Token {key}",
            "jwt": sessions.issue_token(MAKER, jwt_secret, int(time.time()))}


def config_toml(credentials: dict[str, str], algod_token: str) -> str:
    return f"""
[auth.openapi.adminBearer]
bearer = "{credentials['admin']}"

[auth.openapi.algodToken]
api_key = "{algod_token}"

[auth.openapi.coinbtrToken]
api_key = "{credentials['coinbtr']}"

[auth.openapi.relayerJwt]
bearer = "{credentials['jwt']}"
"""


def run_schemathesis(url: str, config: Path, max_examples: int, workdir: Path) -> tuple[int, str]:
    """The CLI, as a developer would run it; crash files stay in `workdir`."""
    command = [str(SCHEMATHESIS), "--no-color", "--config-file", str(config), "run", f"{url}/openapi.json",
               "--checks", "not_a_server_error", "--max-examples", str(max_examples), "--seed", "1",
               "--workers", "1", "--request-timeout", "60", "--phases", "examples,coverage,fuzzing",
               "--suppress-health-check", "all"]
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, SCHEMATHESIS_HOOKS="", NO_COLOR="1"))
    return done.returncode, done.stdout + done.stderr


def hostile_bodies(rng: random.Random) -> list[tuple[str, bytes]]:
    depth = rng.choice([17, 100, 5000, 200_000])
    return [
        ("application/json", b"[" * depth + b"]" * depth),
        ("application/json", b'{"a":' * depth + b"1" + b"}" * depth),
        ("application/json", b'{"amount": 1e99999, "price": NaN, "market": "ZRX-WETH", "id": 7}'),
        ("application/json", b'{"amount": ' + b"9" * rng.choice([39, 5000]) + b"}"),
        ("application/json", b'{"x": "' + b"a" * 70_000 + b'"}'),
        ("application/json", b"\xff\xfe{"),
        ("text/plain", b"hello"),
        ("application/xml", b"<a/>"),
        ("application/x-www-form-urlencoded", b"amount=%ff&price=1e999&market=ZRX-WETH&%zz"),
        ("multipart/form-data; boundary=x", b"--x--"),
    ]


def check(response: requests.Response, path: str, what: str) -> None:
    owner = dialects.dialect_for(path).name
    assert response.status_code < 500, (what, path, response.status_code, response.text[:300])
    if owner == "ui" and response.headers.get("Content-Type", "").startswith(("text/html", "text/plain")):
        return  # the market pages answer a missing page or asset with a page of their own
    if response.status_code >= 400 and response.request.method != "HEAD":
        try:
            body = response.json()
        except ValueError:
            raise AssertionError((what, path, response.status_code, response.text[:300])) from None
        assert is_dialect_error(owner, body), (what, path, owner, body)


def probe_framework_errors(url: str, served: dict, credentials: dict[str, str], rng: random.Random) -> int:
    """Unknown paths, missing methods, wrong content types and hostile bodies; returns the count."""
    auth = {"Authorization": credentials["coinbtr"]}
    sent = 0
    for _ in range(PROBES):  # unknown paths under every prefix, any method
        prefix = rng.choice(PREFIXES)
        tail = "/".join("".join(rng.choice(SEGMENT) for _ in range(rng.randint(1, 12)))
                        for _ in range(rng.randint(1, 4)))
        path = prefix + "zz" + tail
        method = rng.choice(dialects.METHODS)
        check(requests.request(method, url + path, headers=auth, timeout=20), path, f"unknown {method}")
        sent += 1
    for path, methods in served.items():
        concrete = re.sub(r"\{[^}]+\}", "x1", path)
        for method in set(dialects.METHODS) - {m.upper() for m in methods}:  # methods the route lacks
            response = requests.request(method, url + concrete, headers=auth, timeout=20)
            check(response, path, f"missing {method}")
            if method != "HEAD":
                assert response.status_code == 405 and response.headers.get("Allow"), (path, method)
            sent += 1
        for method in methods:  # hostile bodies and content types to every operation
            for content_type, raw in hostile_bodies(rng):
                response = requests.request(method.upper(), url + concrete, data=raw, timeout=20,
                                            headers={**auth, "Content-Type": content_type})
                check(response, path, f"{method} {content_type} {len(raw)} bytes")
                sent += 1
    return sent


def test_no_generated_request_gives_a_server_error(data_dir, tmp_path):  # noqa: F811
    stack = Stack(data_dir)
    stack.env["LAMBDEX_JWT_SECRET"] = JWT_SECRET
    stack.env["LAMBDEX_LOG_LEVEL"] = "WARNING"
    with stack:
        credentials = seed(stack.url, "e2e-admin", JWT_SECRET)
        served = requests.get(f"{stack.url}/openapi.json", timeout=60).json()["paths"]
        sent = probe_framework_errors(stack.url, served, credentials, random.Random(1))
        print(f"framework probes: {sent} requests, none a 5xx or a foreign error body")
        assert sent > PROBES
        config = tmp_path / "schemathesis.toml"
        config.write_text(config_toml(credentials, "e2e-algod"))
        code, output = run_schemathesis(stack.url, config, MAX_EXAMPLES, tmp_path)
        print(output[-6000:])
        assert code == 0, output[-20000:]
        operations = sum(len(methods) for methods in served.values())
        selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", output)
        assert selected, output[-3000:]
        # every operation ran (schemathesis leaves out the one serving the schema, GET /openapi.json)
        assert int(selected[1]) == int(selected[2]) == int(selected[3]) >= operations - 1, (operations, selected[0])
        assert re.search(r"(\d+) generated, \1 passed", output), output[-3000:]
        # and the stack still answers normally
        assert json.loads(requests.get(f"{stack.url}/market/listbooks", timeout=60).text)["success"] is True
