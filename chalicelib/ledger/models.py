"""PynamoDB models: one per table of `infra/tables.json` (a test keeps them in step).

Amounts are integers in base units (DynamoDB numbers hold 38 significant digits).
Index attributes that are only present while an item is in some state (an open
order's `book_key`, a pending deposit's `pending_status`) make sparse indexes: the
index holds exactly the items a query wants, so no request has to Scan.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib import settings
from chalicelib.ledger import db

db.share_session_with_pynamodb()


def _meta(suffix: str) -> type:
    class Meta:
        table_suffix = suffix
        table_name = f"{settings.table_prefix()}-{suffix}"
        host = settings.dynamodb_endpoint()
        region = settings.region()
        max_retry_attempts = 3

    return Meta


def _index_meta(name: str) -> type:
    class Meta:
        index_name = name
        projection = AllProjection()

    return Meta


def _gsi(name: str, hash_attr: str, hash_type: type, range_attr: str | None = None,
         range_type: type | None = None) -> GlobalSecondaryIndex:
    attrs: dict = {"Meta": _index_meta(name), hash_attr: hash_type(hash_key=True)}
    if range_attr:
        attrs[range_attr] = range_type(range_key=True)
    return type(f"Index_{name}", (GlobalSecondaryIndex,), attrs)()


def _lsi(name: str, hash_attr: str, range_attr: str, range_type: type) -> LocalSecondaryIndex:
    attrs = {
        "Meta": _index_meta(name),
        hash_attr: UnicodeAttribute(hash_key=True),
        range_attr: range_type(range_key=True),
    }
    return type(f"Index_{name}", (LocalSecondaryIndex,), attrs)()


S, N = UnicodeAttribute, NumberAttribute


class Asset(Model):
    Meta = _meta("assets")
    name = S(hash_key=True)
    kind = S(default="asset")
    asset_id = N(null=True)
    token_address = S(null=True)
    decimals = N(default=0)
    issuer = S(null=True)
    owner = S(null=True)
    description = S(default="")
    supply = N(default=0)
    locked = BooleanAttribute(default=False)
    url = S(null=True)
    unit_name = S(null=True)
    default_frozen = BooleanAttribute(default=False)
    manager = S(null=True)
    reserve = S(null=True)
    freeze = S(null=True)
    clawback = S(null=True)
    metadata_hash = S(null=True)
    asset_longname = S(null=True)
    settlement = S(default="ledger")  # "ledger" | "external" (paid outside, e.g. BTC)
    deposit = S(default="address")  # "address" | "memo"
    confirmations_required = N(default=1)
    network_fee = N(default=0)  # base units deducted from outgoing transfers
    address_pattern = S(null=True)  # regex a destination address must match
    deposit_account = S(null=True)  # memo-based coins: the exchange's receiving account
    created_us = N(default=0)

    all_assets = _gsi("all_assets", "kind", S, "name", S)
    by_asset_id = _gsi("by_asset_id", "asset_id", N)
    by_token_address = _gsi("by_token_address", "token_address", S)


class Balance(Model):
    Meta = _meta("balances")
    address = S(hash_key=True)
    asset = S(range_key=True)
    available = N(default=0)
    locked = N(default=0)
    frozen = BooleanAttribute(default=False)

    by_asset = _gsi("by_asset", "asset", S, "address", S)


class Market(Model):
    """Market configuration and its serial state: `seq` orders every settlement."""

    Meta = _meta("markets")
    id = S(hash_key=True)
    kind = S(default="market")
    number = N(default=0)  # the 0x relayer's numeric market id
    base = S()
    quote = S()
    fee = S(default="0")  # decimal string rate taken from the taker's proceeds
    min_amount = N(default=0)  # base units of the base asset
    name = S(null=True)
    url = S(null=True)
    enabled = BooleanAttribute(default=True)
    seq = N(default=0)
    last_price = S(null=True)
    restricted = BooleanAttribute(null=True)  # once any taker-restricted order was placed here
    created_us = N(default=0)
    # Scheduler passes / stream batches in a row that failed on this market (0 or absent when
    # healthy); `make audit` reports a market failing for more than LAMBDEX_AUDIT_MAX_FAILING_PASSES.
    failing_passes = N(null=True)
    last_failure = S(null=True)  # what failed last, and why (one line)

    all_markets = _gsi("all_markets", "kind", S, "id", S)


class MarketStat(Model):
    """One hour of a market's completed trades (`stores.market_stats`): what the 24 h figures
    of the tickers are summed from, written in the transaction that completes the trades."""

    Meta = _meta("market_stats")
    market = S(hash_key=True)
    hour = N(range_key=True)  # unix time // 3600
    version = N(default=0)  # writes so far: each write conditions on the one it read
    trades = N(default=0)
    base_volume = S(default="0")  # decimal digits: sums of amounts may pass DynamoDB's 38 digits
    quote_volume = S(default="0")
    open = S(null=True)  # "n/d" quote base units per base base unit, as `Market.last_price`
    close = S(null=True)
    high = S(null=True)
    low = S(null=True)
    first_us = N(default=0)  # time of the trade `open` is the price of
    last_us = N(default=0)  # time of the trade `close` is the price of


class Order(Model):
    Meta = _meta("orders")
    market = S(hash_key=True)
    tx_hash = S(range_key=True)
    tx_index = N()
    block_index = N()
    source = S()
    side = S()  # "buy" | "sell" of the market's base asset
    give_asset = S()
    give_quantity = N()
    give_remaining = N()
    get_asset = S()
    get_quantity = N()
    get_remaining = N()
    expiration = N(default=0)  # blocks
    expire_index = N(default=0)
    expires_at = N(default=0)  # unix seconds; the earlier of the block and time expiries
    fee_required = N(default=0)
    fee_required_remaining = N(default=0)
    fee_provided = N(default=0)
    fee_provided_remaining = N(default=0)
    status = S(default="open")  # open | filled | cancelled | expired
    status_index = S()  # f"{status}#{tx_index:020d}": asset order lists by status
    book_key = S(null=True)  # present only while open: the order book index
    open_expires_at = N(null=True)  # present only while open: the expiry index
    taker = S(null=True)  # 0x: only this address may fill
    dialect = S(default="counterparty")
    signed_order = MapAttribute(null=True)  # 0x: the whole signed order as submitted
    expired_with = UnicodeSetAttribute(null=True)  # orders whose match with this one expired unpaid
    cap = S(null=True)  # "get": never receives more than get_quantity (CoinBTR buys); absent: "give"
    created_us = N(default=0)
    updated_us = N(default=0)

    book = _lsi("book", "market", "book_key", S)
    open_expiry = _lsi("open_expiry", "market", "open_expires_at", N)
    by_hash = _gsi("by_hash", "tx_hash", S)
    by_source = _gsi("by_source", "source", S, "tx_index", N)
    by_give_asset = _gsi("by_give_asset", "give_asset", S, "status_index", S)
    by_get_asset = _gsi("by_get_asset", "get_asset", S, "status_index", S)
    open_by_source = _gsi("open_by_source", "source", S, "book_key", S)  # sparse: an owner's open orders
    by_taker = _gsi("by_taker", "taker", S, "tx_index", N)  # sparse: 0x orders only one address may fill


class OrderMatch(Model):
    Meta = _meta("matches")
    id = S(hash_key=True)  # f"{tx0_hash}_{tx1_hash}", f"..._{seq}" for a pair's repeat (stores.matches)
    market = S()
    tx0_index = N()
    tx0_hash = S()
    tx0_address = S()
    tx1_index = N()
    tx1_hash = S()
    tx1_address = S()
    forward_asset = S()
    forward_quantity = N()
    backward_asset = S()
    backward_quantity = N()
    tx0_block_index = N()
    tx1_block_index = N()
    block_index = N()
    tx0_expiration = N(default=0)
    tx1_expiration = N(default=0)
    match_expire_index = N()
    fee_paid = N(default=0)
    fee_asset = S(null=True)
    status = S()  # pending | completed | expired
    pending_market = S(null=True)  # present only while pending
    time_us = N()

    by_tx0 = _gsi("by_tx0", "tx0_hash", S, "tx1_index", N)
    by_tx1 = _gsi("by_tx1", "tx1_hash", S, "tx0_index", N)
    by_market = _gsi("by_market", "market", S, "time_us", N)
    by_tx0_address = _gsi("by_tx0_address", "tx0_address", S, "time_us", N)
    by_tx1_address = _gsi("by_tx1_address", "tx1_address", S, "time_us", N)
    pending_by_market = _gsi("pending_by_market", "pending_market", S, "match_expire_index", N)


class Posting(MapAttribute):
    address = S()
    asset = S()
    available = N(default=0)
    locked = N(default=0)


class JournalEntry(Model):
    """The one record that explains a balance change, written in the same transaction."""

    Meta = _meta("journal")
    id = S(hash_key=True)  # idempotency key, e.g. "deposit:LTC#txid#0"
    kind = S()  # issue | deposit | withdraw | refund | place | cancel | expire | settle | ...
    ref = S()  # the id of the thing it explains
    postings = ListAttribute(of=Posting)
    time_us = N()
    block_index = N(default=0)
    operator = S(null=True)  # present only on an operator's change (chalicelib/ledger/actions.py)
    reason = S(null=True)

    by_operator = _gsi("by_operator", "operator", S, "time_us", N)  # sparse: operators' changes


class Deposit(Model):
    Meta = _meta("deposits")
    key = S(hash_key=True)  # f"{coin}#{txid}#{vout}": one observed transfer
    kind = S(default="deposit")
    id = N()
    coin = S()
    txid = S()
    vout = N(default=0)
    address = S(null=True)
    to_account = S(null=True)
    memo = S(null=True)
    from_account = S(null=True)
    quantity = N()
    confirmations = N(default=1)
    tx_timestamp = S(null=True)
    status = S(default="new")  # new | mapped | credited | conv | inv | err | refund
    pending_status = S(null=True)  # present only while the scheduler has work to do
    due_us = N(null=True)  # when the scheduler tries it (next): the `due` index's range key
    attempts = N(default=0)  # passes that tried it and could not finish it
    owner = S(null=True)  # the account credited
    convert_to = S(null=True)
    error = S(null=True)
    match_id = S(null=True)  # pays an externally settled order match
    processed_at = S(null=True)
    refund_address = S(null=True)  # an operator's refund: where the coins go back to
    refund_memo = S(null=True)
    refund_txid = S(null=True)
    created_us = N()

    by_id = _gsi("by_id", "kind", S, "id", N)
    due = _gsi("due", "pending_status", S, "due_us", N)  # sparse: the scheduler's queue, soonest first
    by_owner = _gsi("by_owner", "owner", S, "created_us", N)
    by_address = _gsi("by_address", "address", S, "id", N)
    by_txid = _gsi("by_txid", "txid", S, "id", N)
    by_to_account = _gsi("by_to_account", "to_account", S, "id", N)
    by_from_account = _gsi("by_from_account", "from_account", S, "id", N)
    by_memo = _gsi("by_memo", "memo", S, "id", N)


class DepositAddress(Model):
    """Maps an address (or account + memo) of a coin back to exactly one owner."""

    Meta = _meta("deposit_addresses")
    key = S(hash_key=True)  # f"{coin}#{address}" or f"{coin}#memo#{memo}"
    coin = S()
    owner = S()  # ledger account, or f"pair:{pair}:{destination}" for the converter
    address = S(null=True)
    account = S(null=True)
    memo = S(null=True)
    purpose = S(default="wallet")  # wallet | convert
    convert_to = S(null=True)
    destination = S(null=True)
    created_us = N(default=0)

    by_owner = _gsi("by_owner", "owner", S, "coin", S)


class CoinPair(Model):
    Meta = _meta("coin_pairs")
    pair = S(hash_key=True)  # f"{from_coin}-{to_coin}"
    kind = S(default="pair")
    id = N()
    from_coin = S()
    to_coin = S()
    exchange_rate = S()  # decimal string
    ex_fee = S(default="0")  # percent, decimal string

    all_pairs = _gsi("all_pairs", "kind", S, "id", N)
    by_from_coin = _gsi("by_from_coin", "from_coin", S, "id", N)
    by_to_coin = _gsi("by_to_coin", "to_coin", S, "id", N)


class Conversion(Model):
    Meta = _meta("conversions")
    deposit_key = S(hash_key=True)
    kind = S(default="conversion")
    id = N()
    deposit_id = N()
    from_coin = S()
    to_coin = S()
    from_address = S(null=True)
    to_address = S()
    to_memo = S(null=True)
    from_amount = N()
    to_amount = N()
    ex_fee = N(default=0)
    tx_fee = N(default=0)
    to_txid = S(null=True)
    status = S(default="queued")  # queued | sending | sent | rejected
    pending_status = S(null=True)
    due_us = N(null=True)  # when the scheduler tries it (next): the `due` index's range key
    attempts = N(default=0)  # passes that tried it and could not finish it
    error = S(null=True)
    created_us = N()
    updated_us = N()

    by_id = _gsi("by_id", "kind", S, "id", N)
    by_to_address = _gsi("by_to_address", "to_address", S, "id", N)
    by_to_txid = _gsi("by_to_txid", "to_txid", S, "id", N)
    by_to_coin = _gsi("by_to_coin", "to_coin", S, "id", N)
    by_from_coin = _gsi("by_from_coin", "from_coin", S, "id", N)
    by_from_address = _gsi("by_from_address", "from_address", S, "id", N)
    due = _gsi("due", "pending_status", S, "due_us", N)  # sparse: the scheduler's queue, soonest first


class Withdrawal(Model):
    Meta = _meta("withdrawals")
    id = S(hash_key=True)
    kind = S(default="withdrawal")
    account = S()
    coin = S()
    address = S()
    memo = S(null=True)  # memo-based coins
    quantity = N()  # what the address receives; the account pays quantity + fee
    fee = N(default=0)
    status = S(default="pending")  # pending | signed | sent | refunded
    pending_status = S(null=True)
    due_us = N(null=True)  # when the scheduler tries it (next): the `due` index's range key
    attempts = N(default=0)  # passes that tried it and could not finish it
    txid = S(null=True)
    error = S(null=True)
    created_us = N()
    updated_us = N()

    by_account = _gsi("by_account", "account", S, "created_us", N)
    due = _gsi("due", "pending_status", S, "due_us", N)  # sparse: the scheduler's queue, soonest first
    all_withdrawals = _gsi("all_withdrawals", "kind", S, "created_us", N)  # admin listing, newest first


class OutboxTransfer(Model):
    """What the local chain adapter 'sent': one item per outgoing transfer."""

    Meta = _meta("outbox")
    id = S(hash_key=True)  # the transfer's idempotency key
    kind = S(default="transfer")
    coin = S()
    to_address = S()
    memo = S(null=True)
    quantity = N()
    txid = S()
    created_us = N()

    all_transfers = _gsi("all_transfers", "kind", S, "created_us", N)  # admin listing, newest first


class ApiKey(Model):
    Meta = _meta("api_keys")
    key_hash = S(hash_key=True)  # sha256 of the key: the key itself is never stored
    account = S()
    scopes = ListAttribute(of=S)
    label = S(null=True)
    created_us = N()
    revoked_us = N(null=True)  # set once when revoked; the item stays so the key stays listed
    replaced_by = S(null=True)  # rotation: the hash of the key that replaced it
    public = BooleanAttribute(null=True)  # the account opted in to public balances (absent = private)

    by_account = _gsi("by_account", "account", S, "created_us", N)


class Counter(Model):
    """Sequences, and guard items that make a value unique (`asset_id#7`, `market_pair#A#B`)."""

    Meta = _meta("counters")
    name = S(hash_key=True)
    value = N(default=0)
    market = S(null=True)  # a market_pair guard: the market trading that pair


class Nonce(Model):
    Meta = _meta("nonces")
    nonce = S(hash_key=True)
    address = S()
    expires_at = N()  # also the table's TTL attribute
    used = BooleanAttribute(default=False)


class Connection(Model):
    """Realtime: one item per WebSocket connection and one per subscription (TTL'd by
    `expires_at`: API Gateway ends a connection after 2 hours at most). A channel's
    subscribers are one strongly consistent Query of their `topic`."""

    Meta = _meta("connections")
    topic = S(hash_key=True)  # f"conn#{id}" for the connection itself, f"{channel}#{key}" for a subscription
    member = S(range_key=True)  # "#" for the connection itself, f"{connection id}#{request id}" for a subscription
    connection_id = S()
    channel = S(null=True)
    request_id = S(null=True)  # the client's requestId, as JSON (number, string or null)
    options = S(null=True)  # the subscription's options, as JSON (e.g. SRA's orderbook side)
    expires_at = N()  # unix seconds; also the table's TTL attribute

    by_connection = _gsi("by_connection", "connection_id", S, "member", S)


class Feed(Model):
    """Realtime publisher state: per market, the book as last published and the book and
    trade sequence numbers; per published match, a marker that makes a redelivery a no-op."""

    Meta = _meta("feeds")
    key = S(hash_key=True)  # f"market#{market id}" or f"trade#{match id}"
    book_seq = N(default=0)
    trade_seq = N(default=0)
    levels = S(null=True)  # JSON {"bids": {price: amount}, "asks": {...}} in base units, as published
    expires_at = N(null=True)  # markers only; also the table's TTL attribute


ALL_MODELS: tuple[type[Model], ...] = (
    Asset, Balance, Market, MarketStat, Order, OrderMatch, JournalEntry, Deposit, DepositAddress,
    CoinPair, Conversion, Withdrawal, OutboxTransfer, ApiKey, Counter, Nonce, Connection, Feed,
)


def configure(endpoint: str | None = None, prefix: str | None = None) -> None:
    """Point every model at another endpoint/prefix (tests switch moto <-> DynamoDB Local)."""
    for model in ALL_MODELS:
        if model.Meta.host == endpoint and model.Meta.table_name.startswith(f"{prefix}-"):
            continue
        model.Meta.table_name = f"{prefix or settings.table_prefix()}-{model.Meta.table_suffix}"
        model.Meta.host = endpoint
        model._connection = None
    if db._endpoint != endpoint:
        db.reset(endpoint)
