"""Admin-facing JSON shapes of ledger records (dialects render their own)."""

from __future__ import annotations

from chalicelib.ledger.amounts import to_decimal_string


def asset_row(asset) -> dict:
    return {
        "name": asset.name, "asset_id": asset.asset_id, "token_address": asset.token_address,
        "decimals": asset.decimals, "issuer": asset.issuer, "owner": asset.owner,
        "description": asset.description, "supply": asset.supply, "locked": asset.locked, "url": asset.url,
        "unit_name": asset.unit_name, "default_frozen": asset.default_frozen, "manager": asset.manager,
        "reserve": asset.reserve, "freeze": asset.freeze, "clawback": asset.clawback,
        "settlement": asset.settlement, "deposit": asset.deposit,
        "confirmations_required": asset.confirmations_required, "network_fee": asset.network_fee,
        "address_pattern": asset.address_pattern, "deposit_account": asset.deposit_account,
    }


def market_row(market) -> dict:
    return {
        "id": market.id, "number": market.number, "base": market.base, "quote": market.quote,
        "fee": market.fee, "min_amount": market.min_amount, "name": market.name, "url": market.url,
        "enabled": market.enabled,
    }


def pair_row(pair) -> dict:
    return {"id": pair.id, "from_coin": pair.from_coin, "to_coin": pair.to_coin,
            "exchange_rate": pair.exchange_rate, "ex_fee": pair.ex_fee}


def deposit_row(deposit, asset) -> dict:
    return {
        "id": deposit.id, "coin": deposit.coin, "txid": deposit.txid, "vout": deposit.vout,
        "address": deposit.address, "to_account": deposit.to_account, "memo": deposit.memo,
        "from_account": deposit.from_account, "quantity": deposit.quantity,
        "amount": to_decimal_string(deposit.quantity, asset.decimals), "confirmations": deposit.confirmations,
        "status": deposit.status, "owner": deposit.owner, "error": deposit.error,
        "processed_at": deposit.processed_at,
    }
