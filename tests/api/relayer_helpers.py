"""Shared set-up of the relayer tests: a ZRX-WETH market with token addresses, funded
makers, 0x v1 orders signed with eth-account, session tokens."""

from __future__ import annotations

import json
from fractions import Fraction

from eth_account import Account
from eth_account.messages import encode_defunct

from chalicelib import settings
from chalicelib.auth.ethereum import zeroex_v1_order_hash
from chalicelib.ledger import assets, deposits, markets

# The relayer spec's example tokens (Ropsten WETH and ZRX).
WETH = "0xc778417e063141139fce010982780140aa0cd5ab"
ZRX = "0xa8e9fa8f91e5ae138c74648c9c304f1c75003a8d"
NULL = "0x" + "00" * 20
E18 = 10**18
JSON = {"Content-Type": "application/json"}

ALICE = Account.from_key(bytes.fromhex("11" * 32))
BOB = Account.from_key(bytes.fromhex("22" * 32))
CAROL = Account.from_key(bytes.fromhex("33" * 32))


def addr(account) -> str:
    return account.address.lower()


def setup_market(clock, fee: str = "0", min_amount: int = 0) -> None:
    assets.create_asset(assets.Asset("WETH", decimals=18, token_address=WETH), clock)
    assets.create_asset(assets.Asset("ZRX", decimals=18, token_address=ZRX), clock)
    markets.create_market("ZRX-WETH", "ZRX", "WETH", Fraction(fee), clock, min_amount=min_amount,
                          name="0xProject", url="https://0xproject.com/")


def fund(clock, address: str, coin: str, quantity: int, txid: str | None = None) -> None:
    observed = deposits.ObservedTransfer(coin=coin, txid=txid or f"fund-{address}-{coin}-{quantity}",
                                         quantity=quantity, address=address)
    deposits.record_deposit(observed, clock)
    deposits.process_new_deposits(clock)


def make_order(maker, maker_token: str, maker_amount: int, taker_token: str, taker_amount: int, clock,
               salt: int = 1, taker: str = NULL, expires_in: int = 3600, **overrides) -> dict:
    """A 0x v1 order signed by `maker` (eth_sign with the message prefix, as wallets do)."""
    order = {
        "exchangeContractAddress": settings.get("LAMBDEX_0X_EXCHANGE"),
        "maker": addr(maker),
        "taker": taker,
        "makerTokenAddress": maker_token,
        "takerTokenAddress": taker_token,
        "feeRecipient": NULL,
        "makerTokenAmount": str(maker_amount),
        "takerTokenAmount": str(taker_amount),
        "makerFee": "0",
        "takerFee": "0",
        "expirationUnixTimestampSec": str(int(clock.now()) + expires_in),
        "salt": str(salt),
        **overrides,
    }
    return sign(order, maker)


def sign(order: dict, signer) -> dict:
    digest = bytes.fromhex(zeroex_v1_order_hash(order))
    signed = signer.sign_message(encode_defunct(primitive=digest))
    return {**order, "ecSignature": {"v": signed.v, "r": "0x" + signed.r.to_bytes(32, "big").hex(),
                                     "s": "0x" + signed.s.to_bytes(32, "big").hex()}}


def order_hash(order: dict) -> str:
    return zeroex_v1_order_hash(order)


def post(client, path: str, body, headers=None):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.http.post(path, headers={**JSON, **(headers or {})}, body=raw)


def get(client, path: str, headers=None):
    return client.http.get(path, headers=headers or {})


def token_for(client, account) -> dict[str, str]:
    """Sign in with a nonce of GET /v0/auth/nonce (prefixed eth_sign, as a modern wallet
    signs); the spec's fixed message is off outside the local stage."""
    data = bytes.fromhex(get(client, f"/v0/auth/nonce?address={addr(account)}").json_body["data"][2:])
    signed = account.sign_message(encode_defunct(primitive=data))
    response = post(client, "/v0/auth", {"address": addr(account), "data": "0x" + data.hex(),
                                         "signature": "0x" + bytes(signed.signature).hex()})
    assert response.status_code == 200, response.body
    return {"Authorization": "Bearer " + response.json_body["token"]}


def error_of(response) -> dict:
    return json.loads(response.body)["error"]
