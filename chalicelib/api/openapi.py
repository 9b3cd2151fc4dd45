"""The OpenAPI 3.1 document of every route, built from the code (see `chalicelib/api/docs.py`).

Generated from the code:

- paths, methods, path parameters and request content types: the app's registered routes;
- summaries: the first line of each view's docstring (else its name);
- request bodies: the views' pydantic models (`model_json_schema()`);
- enums and filter names: the constants the views use (`orders.STATUSES`, `DEPOSIT_FILTERS`, ...);
- the admin and Counterparty row shapes: the render functions' keys typed by the stores'
  domain dataclasses (their type hints).

Hand-written (small tables below, each checked by tests/api/test_openapi.py): which dialect
a view module is (tag, error body, security), the query parameters docs/ documents, the
other response shapes. Imported only when `/openapi.json` or `/docs` is requested.
"""

from __future__ import annotations

import html
import re
import types
import typing
from typing import Any

from pydantic import BaseModel

from chalicelib.api import admin, coinbtr_trading, coinbtr_wallet, converter, counterparty, relayer, render
from chalicelib.ledger import conversions, deposits, orders, withdrawals
from chalicelib.ledger.stores.api_keys import ApiKey
from chalicelib.ledger.stores.assets import Asset
from chalicelib.ledger.stores.balances import Balance
from chalicelib.ledger.stores.conversions import Conversion
from chalicelib.ledger.stores.deposits import Deposit
from chalicelib.ledger.stores.journal import Entry
from chalicelib.ledger.stores.markets import Market
from chalicelib.ledger.stores.matches import Match
from chalicelib.ledger.stores.orders import Order
from chalicelib.ledger.stores.outbox import Transfer
from chalicelib.ledger.stores.pairs import CoinPair
from chalicelib.ledger.stores.withdrawals import Withdrawal

ASSETS = "docs/assets"  # Swagger UI from the pinned swagger-ui-bundle-v2 package, served by api/docs.py

SECURITY_SCHEMES = {
    "adminBearer": {"type": "http", "scheme": "bearer",
                    "description": "`Authorization: Bearer <LAMBDEX_ADMIN_TOKEN>` (every /admin route)"},
    "algodToken": {"type": "apiKey", "in": "header", "name": "X-Algo-API-Token",
                   "description": "the algod API token (`LAMBDEX_ALGOD_TOKEN`)"},
    "algodBearer": {"type": "http", "scheme": "bearer",
                    "description": "the algod API token as `Authorization: Bearer <token>`"},
    "coinbtrToken": {"type": "apiKey", "in": "header", "name": "Authorization",
                     "description": "CoinBTR API key: `Authorization: Token <key>` (keys from POST /admin/apikeys; "
                                    "scopes read, trade, withdraw)"},
    "relayerJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": "0x relayer session token from POST /v0/auth (`Bearer <jwt>` or the bare jwt)"},
}


# -- compact shapes ------------------------------------------------------------------------------

_TYPES = {"s": "string", "i": "integer", "n": "number", "b": "boolean"}


def t(code: str) -> dict:
    """'s' string, 'i' integer, 'n' number, 'b' boolean, '[s]' array of, '#Name' a component; '?' nullable."""
    nullable = code.endswith("?")
    code = code.rstrip("?")
    if code.startswith("["):
        schema: dict = {"type": "array", "items": t(code[1:-1])}
    elif code.startswith("#"):
        schema = {"$ref": f"#/components/schemas/{code[1:]}"}
        return {"anyOf": [schema, {"type": "null"}]} if nullable else schema
    elif code == "any":
        return {}
    else:
        schema = {"type": _TYPES[code]}
    if nullable:
        schema["type"] = [schema["type"], "null"]
    return schema


def obj(spec: str, optional: str = "") -> dict:
    """'name:type ...' -> an object schema, every field required but those named in `optional`."""
    properties = {}
    for item in spec.split():
        name, _, code = item.partition(":")
        properties[name] = t(code or "s")
    required = [n for n in properties if n not in optional.split()]
    return {"type": "object", "properties": properties, "required": required}


class _Blank:
    """A stand-in record: every attribute is 0, so a render function shows its keys."""

    def __getattr__(self, name: str) -> int:
        return 0


_HINT_TYPES = {int: "integer", str: "string", bool: "boolean"}


def _hint_type(hint) -> dict:
    """The JSON schema of a dataclass field's type: int, str, bool, a tuple or list of
    strings, or any of them `| None`."""
    arguments = typing.get_args(hint)
    nullable = isinstance(hint, types.UnionType) and type(None) in arguments
    if nullable:
        hint = next(a for a in arguments if a is not type(None))
    origin = typing.get_origin(hint)
    if origin in (tuple, list):
        schema: dict = {"type": "array", "items": {"type": "string"}}
    elif hint in _HINT_TYPES:
        schema = {"type": _HINT_TYPES[hint]}
    else:
        return {}
    if nullable:
        schema["type"] = [schema["type"], "null"]
    return schema


def row_schema(record, fields, **overrides: str) -> dict:
    """A row whose fields are `record`'s (a store's domain dataclass), typed from its field
    types, plus `overrides`."""
    typed = {name: _hint_type(hint) for name, hint in typing.get_type_hints(record).items()}
    properties = {f: t(overrides[f]) if f in overrides else typed[f] for f in fields}
    return {"type": "object", "properties": properties, "required": list(properties)}


def with_normalized(schema: dict, quantities) -> dict:
    """A Counterparty row schema plus one `<field>_normalized` decimal string per quantity."""
    for field in quantities:
        schema["properties"][f"{field}_normalized"] = {"type": "string"}
        schema["required"].append(f"{field}_normalized")
    return schema


def keys(render_function) -> list[str]:
    return list(render_function(*[_Blank() for _ in range(render_function.__code__.co_argcount)]))


def coinbtr_ok(data: dict) -> dict:
    return {"type": "object", "required": ["success", "msg", "data"],
            "properties": {"success": {"const": True}, "msg": {"type": "string"}, "data": data}}


def array(code: str) -> dict:
    return {"type": "array", "items": t(code)}


def response_schemas() -> dict[str, dict]:
    return {
        # error bodies, one per dialect
        "AdminError": {"type": "object", "required": ["error"], "properties": {
            "error": obj("code message field", optional="field")}},
        "CounterpartyError": obj("error"),
        "AlgodError": obj("message"),
        "CoinbtrError": {"type": "object", "required": ["success", "msg"], "properties": {
            "success": {"const": False}, "msg": obj("error code")}},
        "ConverterError": {"type": "object", "required": ["error", "message"], "properties": {
            "error": {"const": True}, "message": {"type": "string"}}},
        "RelayerError": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "reason"], "properties": {
                "code": {"type": "integer", "description": "100 validation, 101 malformed JSON, 106 signature; "
                                                           "else the HTTP status"},
                "reason": {"type": "string"},
                "validationErrors": {"type": "array", "items": obj("field code:i reason")}}}}},
        # admin
        "Asset": row_schema(Asset, keys(render.asset_row)),
        "Market": row_schema(Market, keys(render.market_row)),
        "Pair": row_schema(CoinPair, keys(render.pair_row)),
        "Deposit": row_schema(Deposit, keys(render.deposit_row), amount="s"),
        "ApiKeyCreated": obj("key id account scopes:[s] label:s?"),
        "ApiKeyRow": row_schema(ApiKey, keys(render.api_key_row), id="s", key_hash="s"),
        "ApiKeyRotated": {**row_schema(ApiKey, keys(render.api_key_row), id="s", key_hash="s"),
                          "properties": {"key": t("s"), **row_schema(
                              ApiKey, keys(render.api_key_row), id="s", key_hash="s")["properties"]}},
        "Balance": row_schema(Balance, keys(render.balance_row), frozen="b"),
        "Order": row_schema(Order, keys(render.order_row)),
        "Withdrawal": row_schema(Withdrawal, keys(render.withdrawal_row)),
        "Conversion": row_schema(Conversion, keys(render.conversion_row)),
        "Transfer": row_schema(Transfer, keys(render.transfer_row)),
        "Action": row_schema(Entry, keys(render.action_row)),
        "CancelPage": {"type": "object", "required": ["cancelled", "cursor"], "properties": {
            "cancelled": t("[s]"), "cursor": t("s?")}},
        **{f"{name}Page": {"type": "object", "required": ["items", "cursor"], "properties": {
            "items": array(f"#{name}"), "cursor": t("s?")}}
           for name in ("Order", "Withdrawal", "Conversion", "Transfer", "Action")},
        # Counterparty
        "CpBalance": obj("address asset quantity:i quantity_normalized"),
        "CpAsset": row_schema(Asset, keys(counterparty.asset_info), asset="s", divisible="b"),
        "CpOrder": with_normalized(row_schema(Order, counterparty.ORDER_FIELDS), counterparty.ORDER_NORMALIZED),
        "CpMatch": with_normalized(row_schema(Match, counterparty.MATCH_FIELDS),
                                   counterparty.MATCH_NORMALIZED),
        # algod
        "AlgodAssetHolding": {"type": "object", "required": ["round"], "properties": {
            "round": {"type": "integer"},
            "asset-holding": obj("amount:i asset-id:i is-frozen:b"),
            "created-asset": {"type": "object", "description": "algod's AssetParams (only for the creator)"}}},
        # CoinBTR
        "CbOrder": obj("id market side type price:n amount:n remaining:n filled:n status created_at updated_at"),
        "CbFill": obj("id market side price:n amount:n total:n role order_id fee:n status date"),
        "CbBook": {"type": "object", "properties": {"market": {"type": "string"}, **{
            side: {"type": "array", "items": obj("price:n amount:n")} for side in ("bids", "asks")}}},
        "CbTicker": obj("market last:n? high:n? low:n? bid:n? ask:n? volume:n quote_volume:n change:n"),
        "CbVolume": obj("market volume:n quote_volume:n"),
        "CbBookRow": obj("book base quote minimum_amount:n fee:n enabled:b"),
        "CbCurrency": obj("coin name decimals:i deposit settlement"),
        "CbProfile": obj("account scopes:[s] label:s? created_at"),
        "CbDepositAddress": obj("coin address memo", optional="memo"),
        "CbBalance": obj("coin balance:n available:n pending:n depositAddress:s? memo", optional="memo"),
        "CbWithdrawal": obj("id coin address memo:s? amount:n fee:n txid:s? status date"),
        "CbDeposit": obj("id:i coin txid vout:i address:s? memo:s? amount:n confirmations:i status date"),
        # converter
        "CvConvert": obj("ex_rate:n destination pair address memo account", optional="address memo account"),
        "CvDeposit": obj("id:i txid coin:s? vout:i status tx_timestamp:s? address:s? from_account:s? "
                         "to_account:s? amount memo:s? processed_at:s? convert_to:s? error:s?"),
        "CvConversion": obj("url from_address:s? to_address to_memo:s? to_amount to_txid:s? tx_fee ex_fee "
                            "created_at updated_at deposit from_coin:s? to_coin:s?"),
        "CvPair": obj("id:i from_coin to_coin exchange_rate __str__"),
        "CvCoin": obj("symbol display_name our_account:s? can_issue:b coin_type decimals:i network_fee url"),
        # 0x relayer / SRA v0
        "RelayerOrder": obj(
            "id:i maker taker makerTokenAddress takerTokenAddress feeRecipient exchangeContractAddress salt "
            "makerTokenAmount takerTokenAmount makerFee takerFee expirationUnixTimestampSec:i "
            "takerTokenAmountFilled takerTokenAmountCancelled status makerTokenRemaining takerTokenRemaining "
            "makerLockedAmount takerLockedAmount price:n pair side orderHash createdTime updatedTime txId txAmount",
            optional="txId txAmount"),
        "SraOrder": {**obj(" ".join(relayer._SRA_FIELDS) + " ecSignature"),
                     "properties": {**{f: {"type": "string"} for f in relayer._SRA_FIELDS},
                                    "ecSignature": obj("v:i r s")}},
        "RelayerMarket": obj("id:i marketId name url baseToken:s? tradeToken:s? price24h:n price:n "
                             "tradeTokenVolume baseTokenVolume decimals:i miniAmount:n fee:n"),
        "SraTokenPair": obj("tokenA:#SraToken tokenB:#SraToken"),
        "SraToken": obj("address:s? minAmount maxAmount precision:i"),
        "SraBook": {"type": "object", "required": ["bids", "asks"],
                    "properties": {"bids": array("#SraOrder"), "asks": array("#SraOrder")}},
        "RelayerBook": {"type": "object", "required": ["bids", "asks"],
                        "properties": {"bids": array("#RelayerOrder"), "asks": array("#RelayerOrder")}},
        "Nonce": obj("address nonce message data expiresAt:i"),
        "Session": obj("token"),
        "Fees": obj("feeRecipient makerFee takerFee"),
    }


# -- request bodies the views parse ---------------------------------------------------------------

BODIES: dict[str, type[BaseModel]] = {  # view function name -> the model its body is parsed with
    "create_asset": admin.AssetIn, "create_market": admin.MarketIn, "create_pair": admin.PairIn,
    "create_api_key": admin.ApiKeyIn, "post_deposit": admin.DepositIn,
    "update_market": admin.MarketChangeIn, "refund_deposit": admin.RefundIn,
    **dict.fromkeys(("cancel_account_orders", "cancel_market_orders"), admin.CancelPageIn),
    **dict.fromkeys(("disable_market", "enable_market", "revoke_api_key", "rotate_api_key", "freeze_balance",
                     "unfreeze_balance", "cancel_one_order", "reject_deposit"), admin.ReasonIn),
    **dict.fromkeys(("place_buy_limit", "place_sell_limit", "place_buy_limit_alias", "place_sell_limit_alias"),
                    coinbtr_trading.PlaceIn),
    "cancel": coinbtr_trading.IdIn, "get_open_order": coinbtr_trading.IdIn, "get_transaction": coinbtr_trading.IdIn,
    "list_open_orders": coinbtr_trading.OpenOrdersIn, "list_transactions": coinbtr_trading.FillsIn,
    "get_deposit_address": coinbtr_wallet.CoinIn, "withdraw": coinbtr_wallet.WithdrawIn,
    "whithdraw": coinbtr_wallet.WithdrawIn,
    "convert": converter.ConvertIn,
    "post_order": relayer.OrderIn, "auth": relayer.AuthIn, "fees": relayer.FeesIn,
}


# -- query parameters (docs/*.md) -----------------------------------------------------------------

def q(name: str, schema: dict | None = None, required: bool = False, description: str = "") -> dict:
    param = {"name": name, "in": "query", "required": required, "schema": schema or {"type": "string"}}
    if description:
        param["description"] = description
    return param


INT = {"type": "string", "pattern": "^[0-9]+$"}
LIMIT = q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, description="default 100")
OFFSET = q("offset", {"type": "integer", "minimum": 0, "maximum": 1_000_000})
CP_LIST = [LIMIT, OFFSET, q("sort", description="`field` ascending or `-field` descending")]
RELAYER_PAGE = [q("page", {"type": "integer", "minimum": 1, "maximum": 10_000}),
                q("perPage", {"type": "integer", "minimum": 1, "maximum": 100}),
                q("per_page", {"type": "integer", "minimum": 1, "maximum": 100}, description="SRA v0 spelling")]
ADDRESS = {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}
MARKET = q("market", required=True, description="market id, e.g. ZRX-WETH")
ADMIN_LIMIT = q("limit", {"type": "integer", "minimum": 1, "maximum": 100}, description="default 50")
CURSOR = q("cursor", description="from the previous page; absent for the first")


def enum(*values: str) -> dict:
    return {"type": "string", "enum": list(values)}


QUERY: dict[str, list[dict]] = {  # view function name -> its query parameters
    "list_api_keys": [q("account", required=True)],
    "list_pending_deposits": [q("status", enum("new", "mapped"))],
    "admin.list_orders": [ADMIN_LIMIT, CURSOR, q("account"), q("market"), q("status", enum(*orders.STATUSES))],
    "admin.list_withdrawals": [ADMIN_LIMIT, CURSOR, q("account"), q("coin"),
                               q("status", enum(*withdrawals.WITHDRAWAL_STATUSES))],
    "admin.list_conversions": [ADMIN_LIMIT, CURSOR, q("status", enum(*conversions.CONVERSION_STATUSES)),
                               *(q(f) for f in conversions.ADMIN_CONVERSION_FILTERS)],
    "admin.list_transfers": [ADMIN_LIMIT, CURSOR, q("coin"), q("to_address")],
    "admin.list_actions": [ADMIN_LIMIT, CURSOR, q("operator", required=True)],
    "address_balances": CP_LIST,
    "asset_balances": CP_LIST,
    "asset_orders": [*CP_LIST, q("status", enum(*orders.STATUSES, "all"), description="default open")],
    "order_matches": [*CP_LIST, q("status", enum(*counterparty.MATCH_STATUSES, "all"),
                                  description="default pending")],
    "account_asset_information": [q("format", enum("json", "msgpack"))],
    "node_status": [q("format", enum("json", "msgpack"))],
    "list_open_orders": [q("market"), q("id")],
    "get_open_order": [q("id", required=True)],
    "list_transactions": [q("market")],
    "get_transaction": [q("id", required=True, description="match id")],
    "get_order_book": [MARKET], "get_ticker": [MARKET], "get_24h_volume": [MARKET],
    "get_deposit_address": [q("coin", description="required with GET")],
    "get_balance": [q("coin", required=True)],
    "list_withdraws": [LIMIT, OFFSET], "list_deposits": [LIMIT, OFFSET],
    "converter.list_deposits": [LIMIT, OFFSET, *(q(f) for f in deposits.DEPOSIT_FILTERS)],
    "list_conversions": [LIMIT, OFFSET, *(q(f) for f in converter.CONVERSION_FILTERS)],
    "converter.list_pairs": [LIMIT, OFFSET, q("from_coin"), q("to_coin")],
    "converter.list_coins": [LIMIT, OFFSET],
    "auth_nonce": [q("address", ADDRESS, required=True)],
    "open_orders": [*RELAYER_PAGE, q("pair"), q("tokenAddress", ADDRESS), q("makerTokenAddress", ADDRESS)],
    "order_history": [*RELAYER_PAGE, q("pair"), q("tokenAddress", ADDRESS), q("makerTokenAddress", ADDRESS)],
    "orderbook": [*RELAYER_PAGE, q("pair", description="market id or token address"),
                  q("baseTokenAddress", ADDRESS), q("quoteTokenAddress", ADDRESS)],
    "token_pairs": [*RELAYER_PAGE, q("tokenA", ADDRESS), q("tokenB", ADDRESS)],
    "openapi_json": [q("audience", enum("public"), description="public: without the admin routes")],
    "sra_orders": [*RELAYER_PAGE, *(q(name, ADDRESS) for name in (
        "exchangeContractAddress", "tokenAddress", "makerTokenAddress", "takerTokenAddress", "tokenA", "tokenB",
        "maker", "taker", "trader", "feeRecipient"))],
}


# -- success responses ------------------------------------------------------------------------------

def ok(code: str, status: int = 200) -> tuple[int, dict]:
    return status, t(code)


RESPONSES: dict[str, tuple[int, dict]] = {  # view function name -> (status, body schema)
    "create_asset": ok("#Asset", 201), "list_assets": ok("[#Asset]"), "get_asset": ok("#Asset"),
    "create_market": ok("#Market", 201), "list_markets": ok("[#Market]"), "get_market": ok("#Market"),
    "create_pair": ok("#Pair", 201), "admin.list_pairs": ok("[#Pair]"),
    "create_api_key": ok("#ApiKeyCreated", 201), "list_api_keys": ok("[#ApiKeyRow]"),
    "post_deposit": ok("#Deposit", 201), "list_pending_deposits": ok("[#Deposit]"),
    "admin.get_deposit": ok("#Deposit"),
    **dict.fromkeys(("update_market", "disable_market", "enable_market"), ok("#Market")),
    "revoke_api_key": ok("#ApiKeyRow"), "rotate_api_key": ok("#ApiKeyRotated", 201),
    **dict.fromkeys(("freeze_balance", "unfreeze_balance"), ok("#Balance")),
    "cancel_one_order": ok("#Order"),
    **dict.fromkeys(("cancel_account_orders", "cancel_market_orders"), ok("#CancelPage")),
    **dict.fromkeys(("reject_deposit", "refund_deposit"), ok("#Deposit")),
    "admin.list_orders": ok("#OrderPage"), "admin.list_withdrawals": ok("#WithdrawalPage"),
    "admin.list_conversions": ok("#ConversionPage"), "admin.list_transfers": ok("#TransferPage"),
    "admin.list_actions": ok("#ActionPage"),
    "address_balances": ok("[#CpBalance]"), "asset_balances": ok("[#CpBalance]"),
    "asset_information": ok("[#CpAsset]"), "asset_orders": ok("[#CpOrder]"),
    "order_information": ok("[#CpOrder]"), "order_matches": ok("[#CpMatch]"),
    "account_asset_information": ok("#AlgodAssetHolding"),
    **{name: (200, coinbtr_ok(t("#CbOrder"))) for name in (
        "place_buy_limit", "place_sell_limit", "place_buy_limit_alias", "place_sell_limit_alias", "cancel",
        "get_open_order")},
    "list_open_orders": (200, coinbtr_ok({"anyOf": [array("#CbOrder"), t("#CbOrder")]})),
    "list_transactions": (200, coinbtr_ok(array("#CbFill"))), "get_transaction": (200, coinbtr_ok(t("#CbFill"))),
    "user_profile": (200, coinbtr_ok(t("#CbProfile"))), "user_session": (200, coinbtr_ok(t("#CbProfile"))),
    "list_books": (200, coinbtr_ok(array("#CbBookRow"))), "get_order_book": (200, coinbtr_ok(t("#CbBook"))),
    "get_ticker": (200, coinbtr_ok(t("#CbTicker"))), "get_24h_volume": (200, coinbtr_ok(t("#CbVolume"))),
    "get_currencies": (200, coinbtr_ok(array("#CbCurrency"))),
    "get_deposit_address": (200, coinbtr_ok(t("#CbDepositAddress"))),
    "withdraw": (200, coinbtr_ok(t("#CbWithdrawal"))), "whithdraw": (200, coinbtr_ok(t("#CbWithdrawal"))),
    "list_balances": (200, coinbtr_ok(array("#CbBalance"))), "get_balance": (200, coinbtr_ok(t("#CbBalance"))),
    "list_withdraws": (200, coinbtr_ok(array("#CbWithdrawal"))),
    "coinbtr_wallet.list_deposits": (200, coinbtr_ok(array("#CbDeposit"))),
    "convert": ok("#CvConvert"), "converter.list_deposits": ok("[#CvDeposit]"),
    "converter.get_deposit": ok("#CvDeposit"), "list_conversions": ok("[#CvConversion]"),
    "get_conversion": ok("#CvConversion"), "converter.list_pairs": ok("[#CvPair]"), "get_pair": ok("#CvPair"),
    "list_coins": ok("[#CvCoin]"), "get_coin": ok("#CvCoin"),
    "auth_nonce": ok("#Nonce"), "auth": ok("#Session"), "post_order": ok("#RelayerOrder", 201),
    "cancel_order": ok("#RelayerOrder"), "open_orders": ok("[#RelayerOrder]"), "order_history": ok("[#RelayerOrder]"),
    "markets": ok("[#RelayerMarket]"), "orderbook": (200, {"anyOf": [t("#RelayerBook"), t("#SraBook")]}),
    "token_pairs": ok("[#SraTokenPair]"), "sra_orders": ok("[#SraOrder]"), "sra_order_by_hash": ok("#SraOrder"),
    "fees": ok("#Fees"),
    "node_status": (200, obj("catchup-time:i last-round:i last-version:s next-version:s "
                             "next-version-round:i next-version-supported:b stopped-at-unsupported-round:b "
                             "time-since-last-round:i")),
}


# -- dialects -------------------------------------------------------------------------------------

PUBLIC: list[dict] = []
DIALECTS = {  # view module -> (tag, error body, error statuses, security)
    "admin": ("admin", "AdminError", (400, 404, 409), [{"adminBearer": []}]),
    "counterparty": ("Counterparty", "CounterpartyError", (400, 404), PUBLIC),
    "algod": ("algod", "AlgodError", (400, 404), [{"algodToken": []}, {"algodBearer": []}]),
    "coinbtr_trading": ("CoinBTR", "CoinbtrError", (400, 404, 503), [{"coinbtrToken": []}]),
    "coinbtr_wallet": ("CoinBTR wallet", "CoinbtrError", (400, 404, 503), [{"coinbtrToken": []}]),
    "converter": ("converter", "ConverterError", (400, 404), PUBLIC),
    "relayer": ("0x relayer", "RelayerError", (400, 404, 503), PUBLIC),
    "docs": ("docs", None, (), PUBLIC),
    "ui": ("market pages", None, (), PUBLIC),
    "health": ("health", None, (), PUBLIC),
}
SECURITY: dict[str, list[dict]] = {  # view function name -> security, where it is not the dialect's
    **dict.fromkeys(("list_books", "get_order_book", "get_ticker", "get_24h_volume", "get_currencies"), PUBLIC),
    **dict.fromkeys(("open_orders", "order_history", "cancel_order"), [{"relayerJwt": []}]),
}
SCOPES = {  # CoinBTR views that need a scope other than read
    **dict.fromkeys(("place_buy_limit", "place_sell_limit", "place_buy_limit_alias", "place_sell_limit_alias",
                     "cancel"), "trade"),
    "withdraw": "withdraw", "whithdraw": "withdraw",
}


def _lookup(table: dict, module: str, name: str, default=None):
    return table.get(f"{module}.{name}", table.get(name, default))


def _strip_titles(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _strip_titles(v) for k, v in schema.items() if k != "title" or not isinstance(v, str)}
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


def model_schema(model: type[BaseModel], components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def operation(entry, path: str, components: dict) -> dict:
    function = entry.view_function
    module = function.__module__.rsplit(".", 1)[-1]
    name = function.__name__
    tag, error_schema, error_statuses, security = DIALECTS[module]
    security = _lookup(SECURITY, module, name, security)
    doc = (function.__doc__ or "").strip()
    op: dict[str, Any] = {
        "operationId": f"{entry.method.lower()}_{re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_')}",
        "summary": doc.splitlines()[0] if doc else name.replace("_", " "),
        "tags": [tag],
        "security": security,
    }
    if module.startswith("coinbtr") and security:
        op["description"] = f"API key scope: `{SCOPES.get(name, 'read')}`"
    parameters = [{"name": arg, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                  for arg in entry.view_args]
    if entry.method == "GET":
        parameters += _lookup(QUERY, module, name, [])
    if parameters:
        op["parameters"] = parameters
    body_model = _lookup(BODIES, module, name)
    if body_model is not None and entry.method != "GET":
        ref = model_schema(body_model, components)
        op["requestBody"] = {"required": module != "coinbtr_trading" or name not in (
            "list_open_orders", "list_transactions"),
            "content": {ctype: {"schema": ref} for ctype in entry.content_types or ["application/json"]}}
    status, schema = _lookup(RESPONSES, module, name, (200, {}))
    responses: dict[str, Any] = {str(status): {"description": "success", "content": {
        "application/json": {"schema": schema}}}}
    if name in ("account_asset_information", "node_status"):
        responses[str(status)]["content"]["application/msgpack"] = {"schema": {"type": "string",
                                                                               "format": "binary"}}
    if name == "post_order":
        responses["200"] = {"description": "the order existed already: its current state",
                            "content": {"application/json": {"schema": schema}}}
    statuses = list(error_statuses)
    if security:
        statuses += [401] + ([403] if module.startswith("coinbtr") or name == "cancel_order" else [])
    if module == "converter" and name == "convert":
        statuses.append(415)
    for code in sorted(set(statuses)):
        responses[str(code)] = {"description": "refused", "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{error_schema}"}}}}
    if module == "ui" and name != "market_data":  # HTML pages and their static assets
        media = "text/html" if name.endswith("_page") else "*/*"
        responses = {"200": {"description": "success", "content": {media: {"schema": {"type": "string"}}}}}
    op["responses"] = responses
    return op


def build(routes: dict) -> dict:
    """The document of `routes` (a Chalice app's `routes`: path -> method -> RouteEntry)."""
    components = response_schemas()
    paths: dict[str, dict] = {}
    for path in sorted(routes):
        for method in sorted(routes[path]):
            if getattr(routes[path][method].view_function, "framework_route", False):
                continue  # the catch-all and the 405s of chalicelib.api.dialects
            paths.setdefault(path, {})[method.lower()] = operation(routes[path][method], path, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lambdex", "version": "0.1.0",
                 "description": "One ledger, five exchange API dialects (Counterparty REST v2, Algorand algod, "
                                "CoinBTR, 0x relayer v0 / SRA v0, CryptoToken Converter) and the operators' "
                                "admin API. Each dialect keeps its own error body; see docs/*.md."},
        "tags": [{"name": tag} for tag, *_ in DIALECTS.values()],
        "paths": paths,
        "components": {"schemas": _strip_titles(components), "securitySchemes": SECURITY_SCHEMES},
    }


# -- /docs ----------------------------------------------------------------------------------------

def html_page(document: dict) -> str:
    """Swagger UI, served by this API from a pinned package (no CDN), over a server-rendered
    list of routes and a notice, both shown when the viewer does not load."""
    rows = []
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(', '.join(op.get('tags', [])))}</td>"
                        f"<td>{html.escape(op.get('summary', ''))}</td></tr>")
    title = html.escape(document["info"]["title"])
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<style>body{{font-family:sans-serif;margin:0}} #routes{{margin:1em 2em}} td{{padding:2px 8px}}
#viewer-notice{{margin:1em 2em;padding:.5em 1em;border:1px solid #c90;background:#fff8e1}}</style>
</head>
<body>
<p id="viewer-notice" role="status">The interactive viewer (Swagger UI, served by this API from
<code>{ASSETS}/</code>) did not load: scripts may be off. The routes are listed below, and
<a href="openapi.json">openapi.json</a> describes them.</p>
<div id="swagger-ui"></div>
<main id="routes">
<h1>{title} API</h1>
<p>{html.escape(document["info"]["description"])}</p>
<p>The machine-readable document: <a href="openapi.json">openapi.json</a> (OpenAPI {document["openapi"]}).</p>
<table>
<thead><tr><th>method</th><th>path</th><th>dialect</th><th>summary</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</main>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="{ASSETS}/lambdex-docs.js"></script>
</body>
</html>
"""


# Runs the viewer on the document without the admin routes: this page loads third-party
# code (Swagger UI), so it never asks for the admin token.
INIT_SCRIPT = """(function () {
  var notice = document.getElementById("viewer-notice");
  if (!window.SwaggerUIBundle) { return; }
  try {
    window.ui = SwaggerUIBundle({url: "openapi.json?audience=public", dom_id: "#swagger-ui"});
    notice.hidden = true;
    document.getElementById("routes").hidden = true;
  } catch (error) {
    notice.textContent = "The interactive viewer failed to start (" + error + "); the routes are listed below.";
  }
})();
"""


def public(document: dict) -> dict:
    """The document without the admin routes and the admin token's security scheme."""
    paths = {p: ops for p, ops in document["paths"].items() if not (p == "/admin" or p.startswith("/admin/"))}
    schemes = {k: v for k, v in document["components"]["securitySchemes"].items() if k != "adminBearer"}
    return {**document, "paths": paths, "tags": [t for t in document["tags"] if t["name"] != "admin"],
            "components": {**document["components"], "securitySchemes": schemes}}
