"""Shared by the in-process moto benchmarks: the environment, a ledger on moto, a small world.

Import this module before anything from `chalicelib` (the models read the environment when
they are imported), exactly as tests/conftest.py does.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# `environment` sets the environment before anything imports the models; `support`
# patches botocore's BaseClient._make_api_call to count calls.
from tests import environment, support  # noqa: E402, F401

ADMIN = support.ADMIN
ALGOD_HEADERS = {"X-Algo-API-Token": "test-algod-token"}
# Valid Algorand addresses (58 base32 characters with their checksum), from the README.
ALGO_ISSUER = "TR64UWZ4UQF4NZZPKT526GKYMCKDS3AOLU7OX4C2PCNLLAWLWIGEGUG44U"
ALGO_HOLDER = "7O3NVYQ3HNNKKLFBYUUHBIYVR3VDOYX5JCTHIEJAFBKS3PCNANQRHDLXPQ"
USDA_ID = 31566704
MARKET = "ZRX-WETH"


def body(response) -> object:
    return json.loads(response.body)


def token(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}", "Content-Type": "application/json"}


def post(client, path: str, payload, headers=None):
    response = support.post(client, path, payload, headers)
    if response.status_code >= 300:
        raise RuntimeError(f"POST {path} -> {response.status_code}: {response.body!r}")
    return response


def place(client, key: str, side: str, price: str, amount: str, market: str = MARKET) -> str:
    response = client.http.post(f"/api/v1/trading/place/{side}limit", headers=token(key),
                                body=json.dumps({"market": market, "price": price, "amount": amount}))
    if response.status_code != 200:
        raise RuntimeError(f"place {side} -> {response.status_code}: {response.body!r}")
    return body(response)["data"]["id"]


def build_world(client, clock, funds: str = "1000000") -> dict[str, str]:
    """Assets ZRX/WETH (8 decimals) and USDA (algod asset_id), market ZRX-WETH (fee 0.1 %),
    API keys of alice (ZRX) and bob (WETH) with read+trade, their deposits credited, and USDA
    credited to an Algorand holder. Returns the API keys."""
    from chalicelib.events import scheduler

    post(client, "/admin/assets", {"name": "ZRX", "decimals": 8, "token_address": "0x" + "a8" * 20})
    post(client, "/admin/assets", {"name": "WETH", "decimals": 8, "token_address": "0x" + "c7" * 20})
    post(client, "/admin/assets", {"name": "LTC", "decimals": 8, "network_fee": 1000})
    post(client, "/admin/assets", {"name": "SGTK", "decimals": 3, "deposit": "memo", "deposit_account": "privex"})
    post(client, "/admin/pairs", {"from_coin": "LTC", "to_coin": "SGTK", "exchange_rate": "100000", "ex_fee": "1"})
    post(client, "/admin/assets", {"name": "USDA", "decimals": 6, "asset_id": USDA_ID, "supply": 10**12,
                                   "issuer": ALGO_ISSUER, "description": "A test dollar"})
    post(client, "/admin/markets", {"id": MARKET, "base": "ZRX", "quote": "WETH", "fee": "0.001"})
    keys = {}
    for account, coin in (("alice", "ZRX"), ("bob", "WETH")):
        keys[account] = body(post(client, "/admin/apikeys", {"public": True, "account": account,
                                                             "scopes": ["read", "trade", "withdraw"]}))["key"]
        post(client, "/admin/deposits", {"coin": coin, "txid": f"fund-{account}", "address": account,
                                         "amount": funds})
    post(client, "/admin/deposits", {"coin": "USDA", "txid": "fund-holder", "address": ALGO_HOLDER,
                                     "amount": "12.5"})
    scheduler.run(clock)
    return keys


def by_operation(calls: list[str]) -> str:
    counts = Counter(calls)
    return " ".join(f"{op}={n}" for op, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
