"""The audit: replay every journal entry from zero and compare with today's balances,
and check that the books are live.

`check` is pure (entries, balances, orders, matches and markets in, findings out) so it
is tested without a database. Loading them takes Scans, so that part is operator tooling:
`chalicelib.admin.audit` (`make audit`, the tests), never on a request path.

The book checks (when orders are given), each finding one line:
- crossed: at quiescence no two open, unexpired orders of a market that may trade with each
  other would still fill (a pair that legitimately cannot trade is ignored: a taker
  restriction, an earlier match of the two that expired unpaid, the same owner);
- fills: per order, what it received (`get_quantity - get_remaining`) equals the sum of its
  pending and completed matches, and so does what it gave, unless a match of it expired
  (a closed order re-opened by an expired match had its leftover returned when it closed);
- failing: no market has failed more than `max_failing_passes` scheduler passes or stream
  batches in a row (`failing_passes` on the market item).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from chalicelib.ledger.matching import BookOrder, match_orders

# Entries whose postings bring value in or take it out; every other kind only moves it.
EXTERNAL_KINDS = {"issue", "deposit", "withdraw", "withdraw_refund", "conversion_in", "deposit_refund"}


@dataclass
class AuditReport:
    mismatches: list[str] = field(default_factory=list)
    negatives: list[str] = field(default_factory=list)
    unbalanced: list[str] = field(default_factory=list)
    conservation: list[str] = field(default_factory=list)
    crossed: list[str] = field(default_factory=list)
    fills: list[str] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)
    entries: int = 0
    balances: int = 0
    orders: int = 0
    matches: int = 0
    markets: int = 0

    @property
    def findings(self) -> list[str]:
        return (self.mismatches + self.negatives + self.unbalanced + self.conservation + self.crossed
                + self.fills + self.failing)

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        head = (f"audit {'OK' if self.ok else 'FAILED'}: {self.entries} entries, {self.balances} balances, "
                f"{self.orders} orders, {self.matches} matches, {self.markets} markets")
        return "\n".join([head, *self.findings])


MAX_FAILING_PASSES = 3


def check(entries: Iterable[dict], balances: Iterable[dict], *, orders: Iterable[dict] = (),
          matches: Iterable[dict] = (), markets: Iterable[dict] = (), now: float | None = None,
          max_failing_passes: int = MAX_FAILING_PASSES) -> AuditReport:
    """entries: {id, kind, postings: [{address, asset, available, locked}]};
    balances: {address, asset, available, locked}; orders: the Order item's fields
    (market, tx_hash, tx_index, source, give/get asset, quantity and remaining, status,
    expires_at, taker, expired_with, cap); matches: {tx0_hash, tx1_hash, forward_quantity,
    backward_quantity, status}; markets: {id, failing_passes, last_failure}. `now` (unix
    seconds) decides which open orders have expired; None counts every open order."""
    report = _check_balances(entries, balances)
    order_list, match_list = list(orders), list(matches)
    report.orders, report.matches = len(order_list), len(match_list)
    report.fills = _check_fills(order_list, match_list)
    report.crossed = _check_crossed(order_list, now)
    for market in markets:
        report.markets += 1
        passes = int(market.get("failing_passes") or 0)
        if passes > max_failing_passes:
            report.failing.append(f"market {market['id']} has failed {passes} passes in a row "
                                  f"(more than {max_failing_passes}): {market.get('last_failure')}")
    return report


def _check_fills(orders: list[dict], matches: list[dict]) -> list[str]:
    gave: dict[str, int] = defaultdict(int)
    got: dict[str, int] = defaultdict(int)
    expired: set[str] = set()
    for match in matches:
        tx0, tx1 = match["tx0_hash"], match["tx1_hash"]
        if match["status"] == "expired":
            expired |= {tx0, tx1}
            continue
        gave[tx0] += int(match["forward_quantity"])
        got[tx1] += int(match["forward_quantity"])
        gave[tx1] += int(match["backward_quantity"])
        got[tx0] += int(match["backward_quantity"])
    findings = []
    for order in orders:
        h = order["tx_hash"]
        received = int(order["get_quantity"]) - int(order["get_remaining"])
        if received != got[h]:
            findings.append(f"order {h} ({order['market']}) received {received}, its matches say {got[h]}")
        given = int(order["give_quantity"]) - int(order["give_remaining"])
        if h not in expired and given != gave[h]:
            findings.append(f"order {h} ({order['market']}) gave {given}, its matches say {gave[h]}")
    return findings


_BOOK_FIELDS = {f.name for f in dataclasses.fields(BookOrder)}


def _book_order(order: dict) -> BookOrder:
    values = {name: order[name] for name in _BOOK_FIELDS if order.get(name) is not None}
    for name in ("tx_index", "give_quantity", "give_remaining", "get_quantity", "get_remaining"):
        values[name] = int(values[name])
    return BookOrder(**values)


def _may_trade(a: dict, b: dict) -> bool:
    """Whether two orders of opposite sides could legitimately trade with each other."""
    if a["source"] == b["source"]:
        return False
    if (a.get("taker") and a["taker"] != b["source"]) or (b.get("taker") and b["taker"] != a["source"]):
        return False
    return b["tx_hash"] not in (a.get("expired_with") or ()) and a["tx_hash"] not in (b.get("expired_with") or ())


def _check_crossed(orders: list[dict], now: float | None) -> list[str]:
    """Open pairs that would still fill. Only the crossing region is compared pair by pair:
    each side sorted by its asking price (get per give), and a pair crosses when the
    product of the two asking prices is at most 1."""
    books: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for order in orders:
        if order["status"] != "open" or (now is not None and int(order.get("expires_at") or 0) <= now):
            continue
        books[order["market"]][order["give_asset"]].append(order)
    findings = []
    for market, sides in sorted(books.items()):
        if len(sides) != 2:
            continue
        one, other = (sorted(side, key=_asking) for side in sides.values())
        for a in one:
            partners = [b for b in other if _asking(a) * _asking(b) <= 1]
            if not partners:
                break  # `one` is sorted by price: later orders cross even less
            for b in partners:
                if _may_trade(a, b) and match_orders([_book_order(a), _book_order(b)]).fills:
                    findings.append(f"market {market} is crossed: open orders {a['tx_hash']} and {b['tx_hash']} "
                                    "would still fill")
    return findings


def _asking(order: dict) -> Fraction:
    return Fraction(int(order["get_quantity"]), int(order["give_quantity"]))


def _check_balances(entries: Iterable[dict], balances: Iterable[dict]) -> AuditReport:
    report = AuditReport()
    replayed: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    external: dict[str, int] = defaultdict(int)
    for entry in entries:
        report.entries += 1
        per_asset: dict[str, int] = defaultdict(int)
        for posting in entry["postings"]:
            key = (posting["address"], posting["asset"])
            replayed[key][0] += int(posting["available"])
            replayed[key][1] += int(posting["locked"])
            per_asset[posting["asset"]] += int(posting["available"]) + int(posting["locked"])
        if entry["kind"] in EXTERNAL_KINDS:
            for asset, amount in per_asset.items():
                external[asset] += amount
        else:
            for asset, amount in per_asset.items():
                if amount:
                    report.unbalanced.append(f"entry {entry['id']} ({entry['kind']}) creates {amount} {asset}")
    stored: dict[tuple[str, str], list[int]] = {}
    totals: dict[str, int] = defaultdict(int)
    for balance in balances:
        report.balances += 1
        key = (balance["address"], balance["asset"])
        stored[key] = [int(balance.get("available", 0)), int(balance.get("locked", 0))]
        totals[balance["asset"]] += sum(stored[key])
        if min(stored[key]) < 0:
            report.negatives.append(f"{key} is negative: {stored[key]}")
    for key in sorted(set(replayed) | set(stored)):
        if replayed.get(key, [0, 0]) != stored.get(key, [0, 0]):
            report.mismatches.append(f"{key}: journal says {replayed.get(key, [0, 0])}, balance is {stored.get(key)}")
    for asset in sorted(set(totals) | set(external)):
        if totals[asset] != external[asset]:
            report.conservation.append(
                f"{asset}: balances hold {totals[asset]}, deposits - withdrawals + issuance = {external[asset]}"
            )
    return report
