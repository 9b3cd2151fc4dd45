"""The closing table of `make bench`: each benchmark records its targets (and the headline
figures the issues ask for) with `record`; `bench/run_all.py` sets LAMBDEX_BENCH_SUMMARY to a
file, and prints what was recorded there as one table after the last benchmark. Run alone, a
benchmark records nothing (it prints its own figures)."""

from __future__ import annotations

import json
import os
from pathlib import Path

ENV = "LAMBDEX_BENCH_SUMMARY"


def record(bench: str, figure: str, measured: str, reference: str = "", ratio: float | None = None,
           target: str = "", met: bool | None = None) -> None:
    """One row: `measured` beside `reference` (the floor or peer of the same run), their
    `ratio`, the `target` and whether it was met (None: a figure with no target)."""
    path = os.environ.get(ENV)
    if not path:
        return
    row = {"bench": bench, "figure": figure, "measured": measured, "reference": reference,
           "ratio": ratio, "target": target, "met": met}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")


def table(path: Path) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    head = ("benchmark", "figure", "measured", "floor / peer", "ratio", "target", "met")
    cells = [head] + [(r["bench"], r["figure"], r["measured"], r["reference"] or "-",
                       "-" if r["ratio"] is None else f"{r['ratio']:.2f}x", r["target"] or "-",
                       "-" if r["met"] is None else ("met" if r["met"] else "NOT met")) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines
