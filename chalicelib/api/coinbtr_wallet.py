"""CoinBTR wallet routes (`coinbtr.md`, Wallet Operations), API-key authenticated.

Coin symbols are case-insensitive; amounts are coin units given as JSON numbers or
decimal strings (never more decimals than the coin has) and shown as JSON numbers.
See `docs/wallets.md` for every route, body and error.
"""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from chalicelib.api.coinbtr_common import BODY_TYPES, ok, request_data, require_key
from chalicelib.api.common import form_or_json_body, paging, parse
from chalicelib.errors import InvalidInput
from chalicelib.ledger import addresses, assets, balances, deposits, withdrawals
from chalicelib.ledger.amounts import to_base_units, to_float
from chalicelib.ledger.clock import current as clock
from chalicelib.ledger.clock import iso_utc

coinbtr_wallet = Blueprint(__name__)


def request():
    return coinbtr_wallet.current_request


class CoinIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, defer_build=True)  # built on first use, not at cold start
    coin: str = Field(min_length=1, max_length=32)


class WithdrawIn(CoinIn):
    address: str = Field(min_length=1, max_length=200)
    amount: StrictStr | StrictInt | StrictFloat  # a JSON true is not 1
    memo: str | None = Field(default=None, max_length=500)


def coin_param(params: dict) -> str:
    coin = params.get("coin")
    coin = coin.strip() if isinstance(coin, str) else ""
    if not coin:
        raise InvalidInput("give the coin, e.g. coin=btc", field="coin")
    return coin


def balance_row(asset, balance, deposit_address) -> dict:
    available = balance.available if balance else 0
    locked = balance.locked if balance else 0
    row = {
        "coin": asset.name,
        "balance": to_float(available + locked, asset.decimals),
        "available": to_float(available, asset.decimals),
        "pending": to_float(locked, asset.decimals),
        "depositAddress": None,
    }
    if deposit_address is not None:
        if asset.deposit == "memo":
            row.update(depositAddress=deposit_address.account, memo=deposit_address.memo)
        else:
            row["depositAddress"] = deposit_address.address
    return row


def withdrawal_row(withdrawal, asset) -> dict:
    return {
        "id": withdrawal.id,
        "coin": withdrawal.coin,
        "address": withdrawal.address,
        "memo": withdrawal.memo,
        "amount": to_float(withdrawal.quantity, asset.decimals),
        "fee": to_float(withdrawal.fee, asset.decimals),
        "txid": withdrawal.txid,
        "status": withdrawal.status,
        "date": iso_utc(withdrawal.created_us),
    }


def deposit_row(deposit, asset) -> dict:
    return {
        "id": deposit.id,
        "coin": deposit.coin,
        "txid": deposit.txid,
        "vout": deposit.vout,
        "address": deposit.address if asset.deposit != "memo" else deposit.to_account,
        "memo": deposit.memo,
        "amount": to_float(deposit.quantity, asset.decimals),
        "confirmations": deposit.confirmations,
        "status": deposit.status,
        "date": iso_utc(deposit.created_us),
    }


# -- deposit address ----------------------------------------------------------------

@coinbtr_wallet.route("/api/v1/wallet/getdepositaddress", methods=["GET", "POST"], content_types=BODY_TYPES)
def get_deposit_address():
    key = require_key(request(), "read")
    spec = parse(CoinIn, {"coin": coin_param(request_data(request()))})
    asset = assets.get_asset(spec.coin)
    record = addresses.wallet_address(key.account, asset, clock())
    data = {"coin": spec.coin}
    if asset.deposit == "memo":
        data.update(address=record.account, memo=record.memo)
    else:
        data["address"] = record.address
    return ok(data)


# -- withdraw -----------------------------------------------------------------------

def _withdraw():
    key = require_key(request(), "withdraw")
    spec = parse(WithdrawIn, form_or_json_body(request()))
    asset = assets.get_asset(spec.coin)
    quantity = to_base_units(spec.amount, asset.decimals, "amount")
    withdrawal = withdrawals.request_withdrawal(key.account, asset, spec.address, quantity, clock(),
                                                memo=spec.memo)
    return ok(withdrawal_row(withdrawal, asset))


@coinbtr_wallet.route("/api/v1/wallet/withdraw", methods=["POST"], content_types=BODY_TYPES)
def withdraw():
    return _withdraw()


@coinbtr_wallet.route("/api/v1/wallet/whithdraw", methods=["POST"], content_types=BODY_TYPES)
def whithdraw():
    """The spec's spelling of the same route."""
    return _withdraw()


# -- reads --------------------------------------------------------------------------

@coinbtr_wallet.route("/api/v1/wallet/listbalances", methods=["GET"], content_types=BODY_TYPES)
def list_balances():
    key = require_key(request(), "read")
    held = {b.asset: b for b in balances.balances_of(key.account)}
    deposit_addresses = addresses.addresses_of(key.account)
    rows = []
    for coin in sorted(set(held) | set(deposit_addresses)):
        asset = assets.find_asset(coin)
        if asset is not None:
            rows.append(balance_row(asset, held.get(coin), deposit_addresses.get(coin)))
    return ok(rows)


@coinbtr_wallet.route("/api/v1/wallet/getbalance", methods=["GET"], content_types=BODY_TYPES)
def get_balance():
    key = require_key(request(), "read")
    asset = assets.get_asset(coin_param(request_data(request())))
    balance = balances.get_balance(key.account, asset.name, consistent=True)
    return ok(balance_row(asset, balance, addresses.addresses_of(key.account).get(asset.name)))


@coinbtr_wallet.route("/api/v1/wallet/listwithdraws", methods=["GET"], content_types=BODY_TYPES)
def list_withdraws():
    key = require_key(request(), "read")
    limit, offset = paging(request_data(request()))
    rows = withdrawals.withdrawals_of(key.account, limit, offset)
    known = {coin: assets.get_asset(coin) for coin in {w.coin for w in rows}}
    return ok([withdrawal_row(w, known[w.coin]) for w in rows])


@coinbtr_wallet.route("/api/v1/wallet/listdeposits", methods=["GET"], content_types=BODY_TYPES)
def list_deposits():
    key = require_key(request(), "read")
    limit, offset = paging(request_data(request()))
    rows = deposits.deposits_of(key.account, limit=offset + limit)[offset:offset + limit]
    known = {coin: assets.get_asset(coin) for coin in {d.coin for d in rows}}
    return ok([deposit_row(d, known[d.coin]) for d in rows])
