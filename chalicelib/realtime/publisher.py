"""The realtime publisher: the orders- and matches-stream handler that fans changes out.

Records are triggers, not data: a batch names the markets (and orders and matches) that
changed; for each market the publisher re-reads what changed, commits the new book and the
new trades to the market's feed (`feeds.commit`: durable, gap-free sequence numbers; a
redelivered batch finds nothing new), then sends:

- `trades`: one update per new match, numbered by `trade_seq`;
- `book`: the changed price levels, numbered by `book_seq` (`prevSeq` = the one before);
- `ticker`: the day's figures and best bid/ask, after either;
- `orderbook` (SRA v0): one update per changed 0x order of the pair, the signed order;
- `orders`: to each account involved, its changed orders and its fills.

Errors are handled per market: a market that failed before its commit has its records
reported in `batchItemFailures` and is retried; the others are not held up. Sending never
fails a batch: a connection that is gone is pruned, one that fails is logged and skipped.
A crash between commit and send loses those messages (never doubles them): subscribers see
the gap in the sequence numbers and resubscribe.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from chalicelib.ledger import stores
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.stores.matches import Match
from chalicelib.ledger.tokens import TokenMarket
from chalicelib.logs import Timer
from chalicelib.realtime import channels, connections, feeds, gateway, snapshots
from chalicelib.realtime.channels import envelope

log = logging.getLogger("lambdex.publisher")

MAX_ROUNDS = 20


@dataclass
class MarketChanges:
    orders: dict[str, str] = field(default_factory=dict)  # tx_hash -> owner (from the record's image)
    matches: list[str] = field(default_factory=list)  # ids of matches inserted
    sequence_numbers: list[str] = field(default_factory=list)


def _image(record: dict) -> dict:
    change = record.get("dynamodb", {})
    return change.get("NewImage") or change.get("OldImage") or {}


def collect(records: list[dict]) -> dict[str, MarketChanges]:
    by_market: dict[str, MarketChanges] = defaultdict(MarketChanges)
    for record in records:
        change = record.get("dynamodb", {})
        keys, image = change.get("Keys", {}), _image(record)
        market = (keys.get("market") or image.get("market") or {}).get("S")
        if not market:
            continue
        changes = by_market[market]
        changes.sequence_numbers.append(change.get("SequenceNumber", ""))
        if "tx_hash" in keys:  # the orders table
            changes.orders[keys["tx_hash"]["S"]] = image.get("source", {}).get("S", "")
        elif "id" in keys and record.get("eventName") == "INSERT":  # a new match
            if keys["id"]["S"] not in changes.matches:
                changes.matches.append(keys["id"]["S"])
    return by_market


def handle(event: dict, clock: Clock) -> dict:
    timer = Timer()
    records = event.get("Records", [])
    failures: list[str] = []
    sent = 0
    for market, changes in collect(records).items():
        try:
            sent += publish_market(market, changes, clock)
        except Exception:
            log.exception("publishing failed", extra={"market": market})
            failures.extend(changes.sequence_numbers)
    log.info("publish batch", extra={"records": len(records), "sent": sent, "failed": len(failures),
                                     "ms": timer.ms()})
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failures]}


@dataclass
class Published:
    trades: list[tuple[Match, int]] = field(default_factory=list)
    books: list[tuple[int, feeds.Levels, feeds.Levels]] = field(default_factory=list)  # (seq, before, after)


def commit_changes(market: str, changes: MarketChanges, now: int) -> Published:
    """Read the market's book and new matches, and give each change its sequence number."""
    matches = stores.matches().get_many(changes.matches)
    matches.sort(key=lambda m: (m.time_us, m.tx1_index, m.tx0_index, m.id))
    pending = matches  # a match published before fails its marker's condition: Conflict names it
    published = Published()
    book_touched = bool(changes.orders)
    for _ in range(MAX_ROUNDS):
        feed = feeds.read(market)
        levels = snapshots.live_levels(market) if book_touched else feed.levels
        book_changed = levels != feed.levels or (book_touched and not feed.exists)
        chunk = pending[:feeds.MAX_MARKERS_PER_COMMIT]
        if not book_changed and not chunk:
            break
        try:
            feeds.commit(feed, levels if book_changed else None, [m.id for m in chunk], now)
        except feeds.Conflict as conflict:
            pending = [m for m in pending if m.id not in conflict.published]
            continue
        published.trades += [(m, feed.trade_seq + 1 + i) for i, m in enumerate(chunk)]
        if book_changed:
            published.books.append((feed.book_seq + 1, feed.levels, levels))
        pending = pending[len(chunk):]
        if not pending:
            break
    else:
        raise RuntimeError(f"feed of {market} kept conflicting")
    return published


def publish_market(market: str, changes: MarketChanges, clock: Clock) -> int:
    now = int(clock.now())
    published = commit_changes(market, changes, now)
    tm = snapshots.market_view(market)
    outbox = Outbox(now)
    if not (published.trades or published.books or changes.orders):
        return 0  # a redelivered batch: nothing new
    accounts = {o for o in changes.orders.values() if o}
    accounts |= {a for m, _ in published.trades for a in (m.tx0_address, m.tx1_address)}
    outbox.prefetch([f"{channel}#{market}" for channel in ("trades", "book", "ticker", "orderbook")]
                    + [f"orders#{a}" for a in sorted(accounts)])
    for match, seq in published.trades:
        outbox.add(f"trades#{market}", "trades", lambda m=match, n=seq: channels.trade_view(tm, m, n))
    for seq, before, after in published.books:
        outbox.add(f"book#{market}", "book", lambda n=seq, old=before, new=after: {
            "market": market, "seq": n, "prevSeq": n - 1, **channels.book_delta(tm, old, new)})
    if published.trades or published.books:
        levels = published.books[-1][2] if published.books else None
        outbox.add(f"ticker#{market}", "ticker", lambda: snapshots.ticker(tm, clock, levels))
    _order_updates(tm, changes, published, outbox)
    return outbox.send()


def _order_updates(tm: TokenMarket, changes: MarketChanges, published: Published, outbox: Outbox) -> None:
    from chalicelib.api.relayer import sra_order

    sra_topic = f"orderbook#{tm.market.id}"
    wants_sra = bool(changes.orders) and outbox.has_subscribers(sra_topic)
    owners_listening = {o for o in set(changes.orders.values()) if o and outbox.has_subscribers(f"orders#{o}")}
    wanted = [(tm.market.id, h) for h, owner in changes.orders.items() if wants_sra or owner in owners_listening]
    found = {o.tx_hash: o for o in stores.orders().get_many(wanted)}
    for _, tx_hash in wanted:  # in the batch's order
        order = found.get(tx_hash)
        if order is None:
            continue
        if wants_sra and order.signed_order is not None:
            outbox.add(sra_topic, "orderbook", lambda o=order: sra_order(o))
        if order.source in owners_listening:
            outbox.add(f"orders#{order.source}", "orders", lambda o=order: channels.order_view(tm, o))
    for match, _ in published.trades:
        for account in {match.tx0_address, match.tx1_address}:
            outbox.add(f"orders#{account}", "orders", lambda m=match, a=account: channels.fill_view(tm, m, a))


class Outbox:
    """Messages per connection, in the order they were added; each topic's subscribers read once,
    and a payload built only if someone listens."""

    def __init__(self, now: int):
        self.now = now
        self.subscribers: dict[str, list[connections.Subscription]] = {}
        self.deliveries: dict[str, list[bytes]] = defaultdict(list)

    def prefetch(self, topics: list[str]) -> None:
        """Read the subscribers of every topic at once (one Query each, in parallel)."""
        missing = [t for t in topics if t not in self.subscribers]
        for topic, found in zip(missing, gateway.run_all([functools.partial(connections.subscribers, t, self.now)
                                                           for t in missing]), strict=True):
            self.subscribers[topic] = found

    def has_subscribers(self, topic: str) -> bool:
        if topic not in self.subscribers:
            self.subscribers[topic] = connections.subscribers(topic, self.now)
        return bool(self.subscribers[topic])

    def add(self, topic: str, channel: str, build) -> None:
        if not self.has_subscribers(topic):
            return
        payload = build()
        for sub in self.subscribers[topic]:
            self.deliveries[sub.connection_id].append(
                channels.encode(envelope("update", channel, sub.request_id, payload)))

    def send(self) -> int:
        if not self.deliveries:
            return 0
        report = gateway.fan_out(gateway.current(), self.deliveries.items())
        if report.gone:
            gone = set(report.gone)
            known = [s for subs in self.subscribers.values() for s in subs if s.connection_id in gone]
            connections.remove_subscriptions(known)  # by key: the index may not show them yet
            for connection_id in gone:
                connections.remove_connection(connection_id)
        if report.failed or report.gone:
            log.info("fan-out", extra={"sent": report.sent, "failed": report.failed, "gone": len(report.gone)})
        return report.sent
