"""Shared set-up of the converter and wallet tests: coins and pairs."""

from __future__ import annotations

import json

from chalicelib import settings
from chalicelib.ledger import balances
from tests.support import ADMIN, post

TREASURY = settings.converter_account()
SGTK_ACCOUNT = "lambdex-sgtk"
LTC_FEE = 16_800  # 0.000168 LTC
SGTK_FEE = 1  # 0.001 SGTK


def make_coins(client) -> None:
    """LTC (address-based, 8 decimals) and SGTK (memo-based, 3 decimals), both ways paired."""
    assert post(client, "/admin/assets", {"name": "LTC", "decimals": 8, "network_fee": LTC_FEE}).status_code == 201
    assert post(client, "/admin/assets", {
        "name": "SGTK", "decimals": 3, "deposit": "memo", "deposit_account": SGTK_ACCOUNT,
        "network_fee": SGTK_FEE, "description": "Sometoken",
    }).status_code == 201
    assert post(client, "/admin/pairs", {"from_coin": "LTC", "to_coin": "SGTK", "exchange_rate": "100000",
                                         "ex_fee": "1"}).status_code == 201
    assert post(client, "/admin/pairs", {"from_coin": "SGTK", "to_coin": "LTC", "exchange_rate": "0.01",
                                         "ex_fee": "10"}).status_code == 201


def deposit(client, coin: str, txid: str, amount: str, **where) -> dict:
    response = post(client, "/admin/deposits", {"coin": coin, "txid": txid, "amount": amount, **where})
    assert response.status_code in (200, 201), response.body
    return json.loads(response.body)


def balance(address: str, asset: str) -> tuple[int, int]:
    found = balances.get_balance(address, asset, consistent=True)
    return (found.available, found.locked) if found else (0, 0)


def get(client, path: str, headers: dict | None = None):
    response = client.http.get(path, headers={"Host": "127.0.0.1:8000", **(headers or {})})
    return response.status_code, json.loads(response.body) if response.body else None


def admin_get(client, path: str):
    response = client.http.get(path, headers=ADMIN)
    return response.status_code, json.loads(response.body)
