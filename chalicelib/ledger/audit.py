"""The audit: replay every journal entry from zero and compare with today's balances.

`check` is pure (entries and balances in, findings out) so it is tested without a
database. Loading every entry and balance takes Scans, so that part is operator tooling:
`chalicelib.admin.audit` (`make audit`, the tests), never on a request path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

# Entries whose postings bring value in or take it out; every other kind only moves it.
EXTERNAL_KINDS = {"issue", "deposit", "withdraw", "withdraw_refund", "conversion_in", "deposit_refund"}


@dataclass
class AuditReport:
    mismatches: list[str] = field(default_factory=list)
    negatives: list[str] = field(default_factory=list)
    unbalanced: list[str] = field(default_factory=list)
    conservation: list[str] = field(default_factory=list)
    entries: int = 0
    balances: int = 0

    @property
    def ok(self) -> bool:
        return not (self.mismatches or self.negatives or self.unbalanced or self.conservation)

    def summary(self) -> str:
        problems = self.mismatches + self.negatives + self.unbalanced + self.conservation
        head = f"audit {'OK' if self.ok else 'FAILED'}: {self.entries} entries, {self.balances} balances"
        return "\n".join([head, *problems])


def check(entries: Iterable[dict], balances: Iterable[dict]) -> AuditReport:
    """entries: {id, kind, postings: [{address, asset, available, locked}]};
    balances: {address, asset, available, locked}."""
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
