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
        "processed_at": deposit.processed_at, "refund_address": deposit.refund_address,
        "refund_txid": deposit.refund_txid,
    }


def api_key_row(key) -> dict:
    return {"id": key.key_hash, "key_hash": str(key.key_hash)[:12], "account": key.account, "scopes": key.scopes,
            "label": key.label, "created_us": key.created_us, "revoked_us": key.revoked_us,
            "replaced_by": key.replaced_by}


def balance_row(balance) -> dict:
    return {"address": balance.address, "asset": balance.asset, "available": balance.available,
            "locked": balance.locked, "frozen": bool(balance.frozen)}


def order_row(order) -> dict:
    return {"tx_hash": order.tx_hash, "market": order.market, "source": order.source, "side": order.side,
            "give_asset": order.give_asset, "give_quantity": order.give_quantity,
            "give_remaining": order.give_remaining, "get_asset": order.get_asset,
            "get_quantity": order.get_quantity, "get_remaining": order.get_remaining, "status": order.status,
            "dialect": order.dialect, "tx_index": order.tx_index, "created_us": order.created_us}


def withdrawal_row(withdrawal) -> dict:
    return {"id": withdrawal.id, "account": withdrawal.account, "coin": withdrawal.coin,
            "address": withdrawal.address, "memo": withdrawal.memo, "quantity": withdrawal.quantity,
            "fee": withdrawal.fee, "status": withdrawal.status, "txid": withdrawal.txid, "error": withdrawal.error,
            "created_us": withdrawal.created_us, "updated_us": withdrawal.updated_us}


def conversion_row(conversion) -> dict:
    return {"id": conversion.id, "deposit_key": conversion.deposit_key, "from_coin": conversion.from_coin,
            "to_coin": conversion.to_coin, "from_address": conversion.from_address,
            "to_address": conversion.to_address, "from_amount": conversion.from_amount,
            "to_amount": conversion.to_amount, "ex_fee": conversion.ex_fee, "tx_fee": conversion.tx_fee,
            "to_txid": conversion.to_txid, "status": conversion.status, "error": conversion.error,
            "created_us": conversion.created_us}


def transfer_row(transfer) -> dict:
    return {"id": transfer.id, "coin": transfer.coin, "to_address": transfer.to_address, "memo": transfer.memo,
            "quantity": transfer.quantity, "txid": transfer.txid, "created_us": transfer.created_us}


def action_row(entry) -> dict:
    return {"id": entry.id, "kind": entry.kind, "ref": entry.ref, "operator": entry.operator,
            "reason": entry.reason, "time_us": entry.time_us}
