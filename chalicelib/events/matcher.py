"""The orders-stream handler: records are triggers, not data.

Lambda delivers stream records at least once, in batches, possibly twice and
concurrently, and the records of one transaction can interleave with others. So a
record only names a market that may have work; the handler re-reads that market's
book and settles it (`settlement.match_market`, idempotent). Errors are handled per
market: records of a market that failed are reported in `batchItemFailures` (Lambda's
ReportBatchItemFailures), so one bad market never blocks the shard for the others, and the
failure is counted on the market item (`failing_passes`, cleared when it settles again).
"""

from __future__ import annotations

import logging
from collections import defaultdict

from chalicelib import observability
from chalicelib.errors import NotFound
from chalicelib.ledger import health, markets, settlement, stores
from chalicelib.ledger.clock import Clock
from chalicelib.ledger.markets import get_market
from chalicelib.logs import Timer

log = logging.getLogger("lambdex.matcher")


def market_to_match(record: dict) -> str | None:
    """The market whose book an order record may have changed in a way that needs matching:
    an order entered the book (new, or re-opened)."""
    change = record.get("dynamodb", {})
    new_image, old_image = change.get("NewImage") or {}, change.get("OldImage") or {}
    if "book_key" in new_image and "book_key" not in old_image:
        return new_image.get("market", {}).get("S")
    return None


def traders_to_match(record: dict, restricted_market: bool) -> set[str]:
    """Whose restricted orders to settle after this record: a taker-restricted order's
    taker; and, in a market that has restricted orders, the new order's owner."""
    new_image = record.get("dynamodb", {}).get("NewImage") or {}
    taker = (new_image.get("taker") or {}).get("S")
    if taker:
        return {taker}
    source = (new_image.get("source") or {}).get("S")
    return {source} if source and restricted_market else set()


def _has_restricted_orders(market_id: str) -> bool:
    try:
        return bool(get_market(market_id).restricted)  # cached: a new flag is seen within seconds
    except NotFound:
        return False


def handle(event: dict, clock: Clock) -> dict:
    timer = Timer()
    records = event.get("Records", [])
    by_market: dict[str, list[str]] = defaultdict(list)
    traders: dict[str, set[str]] = defaultdict(set)
    restricted: dict[str, bool] = {}
    for record in records:
        market = market_to_match(record)
        if market:
            by_market[market].append(record["dynamodb"].get("SequenceNumber", ""))
            if market not in restricted:
                restricted[market] = _has_restricted_orders(market)
            traders[market] |= traders_to_match(record, restricted[market])
    failures: list[str] = []
    failed_markets: list[str] = []
    for market, sequence_numbers in by_market.items():
        try:
            settlement.match_market(market, clock, traders=frozenset(traders[market]))
        except Exception as error:
            log.exception("matching failed", extra={"market": market})
            failures.extend(sequence_numbers)
            failed_markets.append(market)
            _record_health(market, f"stream: {type(error).__name__}: {error}")
        else:
            _record_health(market, None)
    created = [r["dynamodb"]["ApproximateCreationDateTime"] for r in records
               if "ApproximateCreationDateTime" in r.get("dynamodb", {})]
    health.record_stream_batch(clock, max(created, default=None), failed_markets, list(by_market))
    observability.count("FailingMarkets", len(failed_markets))
    if created and len(failed_markets) < len(by_market):
        observability.milliseconds("SettlementLatency", (clock.now() - max(created)) * 1000)
    log.info("stream batch", extra={"records": len(records), "markets": sorted(by_market),
                                    "failed": len(failures), "ms": timer.ms()})
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failures]}


def _record_health(market_id: str, failure: str | None) -> None:
    """Bookkeeping only: never fails the batch. A success reads the (cached) market and
    writes only when it had been failing."""
    try:
        if failure is not None:
            stores.markets().record_failure(market_id, failure)
        elif markets.get_market(market_id).failing_passes:
            stores.markets().clear_failures(market_id)
    except Exception:  # noqa: BLE001
        log.exception("market health not recorded", extra={"market": market_id})
