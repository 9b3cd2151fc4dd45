"""A large consistent ledger written fast (BatchWriteItem), for the audit's scale test and
benchmark: journal entries that replay exactly to the balances written beside them."""

from __future__ import annotations

import random
from collections import defaultdict

ASSET = "AUD1T"
BATCH = 25  # BatchWriteItem's limit


def build(client, prefix: str, entries: int, accounts: int = 500, seed: int = 7) -> dict[tuple[str, str], list[int]]:
    """Write `entries` journal entries (a tenth deposits, the rest moves between accounts
    and order locks) and the balances they replay to; returns those balances."""
    rng = random.Random(seed)
    balances: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    journal = []
    for n in range(entries):
        if n < max(1, entries // 10) or n % 10 == 0:
            account = f"acct{rng.randrange(accounts):04d}"
            postings = [(account, 1_000_000, 0)]
            kind = "deposit"
        else:
            a, b = rng.sample(range(accounts), 2)
            src, dst = f"acct{a:04d}", f"acct{b:04d}"
            amount = rng.randint(0, max(0, min(balances[(src, ASSET)][0], 1000)))
            if rng.random() < 0.5:
                postings, kind = [(src, -amount, 0), (dst, amount, 0)], "settle"
            else:
                postings, kind = [(src, -amount, amount)], "place"
        for address, available, locked in postings:
            balances[(address, ASSET)][0] += available
            balances[(address, ASSET)][1] += locked
        journal.append({
            "id": {"S": f"{kind}:scale{n:07d}"}, "kind": {"S": kind}, "ref": {"S": f"scale{n}"},
            "time_us": {"N": str(1_000_000 + n)}, "block_index": {"N": "0"},
            "postings": {"L": [{"M": {"address": {"S": a}, "asset": {"S": ASSET}, "available": {"N": str(v)},
                                       "locked": {"N": str(lk)}}} for a, v, lk in postings]},
        })
    rows = [{"address": {"S": a}, "asset": {"S": s}, "available": {"N": str(v[0])}, "locked": {"N": str(v[1])}}
            for (a, s), v in balances.items()]
    _write(client, f"{prefix}-journal", journal)
    _write(client, f"{prefix}-balances", rows)
    return dict(balances)


def _write(client, table: str, items: list[dict], threads: int = 8) -> None:
    """BatchWriteItem in parallel (DynamoDB Local spends most of a batch waiting on its disk)."""
    from concurrent.futures import ThreadPoolExecutor

    def batch(start: int) -> None:
        requests = {table: [{"PutRequest": {"Item": item}} for item in items[start:start + BATCH]]}
        while requests:
            requests = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(batch, range(0, len(items), BATCH)))
