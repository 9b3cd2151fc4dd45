"""`lambdex import`: assets, markets and converter pairs from a YAML or CSV file.

Idempotent: each item is looked up first and created only when missing; an item that
exists as the file says is left alone ("unchanged"); one that exists with other values is
reported ("differs") and not changed (assets and pairs cannot be edited; change a market
with `lambdex markets update`). A second run of the same file changes nothing.

YAML: a mapping with any of the lists `assets`, `markets`, `pairs`, each item the body of
`POST /admin/assets`, `/admin/markets`, `/admin/pairs` (docs/admin.md).
CSV: one kind per file (`--kind`, or a `kind` column per row); the header names the fields;
empty cells are left out.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from lambdex_cli.client import AdminClient, ApiError

KINDS = ("assets", "markets", "pairs")  # in the order they depend on each other
INTEGER_FIELDS = {"decimals", "asset_id", "confirmations_required", "supply", "network_fee"}
BOOLEAN_FIELDS = {"locked", "default_frozen"}
UPPER_FIELDS = {"name", "id", "base", "quote", "from_coin", "to_coin"}
DECIMAL_FIELDS = {"fee", "exchange_rate", "ex_fee", "min_amount"}


class ImportFileError(Exception):
    pass


@dataclass
class Outcome:
    kind: str
    id: str
    result: str  # created | unchanged | differs | failed
    detail: str = ""


def read_items(path: Path, kind: str | None = None) -> list[tuple[str, dict]]:
    """(kind, item) pairs from the file, assets first, then markets, then pairs."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        items = list(_from_yaml(text))
    elif path.suffix.lower() == ".csv":
        items = list(_from_csv(text, kind))
    else:
        raise ImportFileError(f"{path}: give a .yaml, .yml or .csv file")
    for item_kind, item in items:
        if item_kind not in KINDS:
            raise ImportFileError(f"unknown kind {item_kind!r}; kinds are {', '.join(KINDS)}")
        if not isinstance(item, dict):
            raise ImportFileError(f"each of {item_kind} must be a mapping, not {item!r}")
    return sorted(items, key=lambda pair: KINDS.index(pair[0]))


def _from_yaml(text: str) -> Iterator[tuple[str, dict]]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ImportFileError(f"not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ImportFileError("the YAML file must be a mapping of assets:, markets:, pairs:")
    for kind, items in data.items():
        if not isinstance(items, list):
            raise ImportFileError(f"{kind}: must be a list")
        for item in items:
            yield kind, item


def _from_csv(text: str, kind: str | None) -> Iterator[tuple[str, dict]]:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise ImportFileError("the CSV file has no header row")
    for line, row in enumerate(reader, start=2):
        row_kind = (row.pop("kind", None) or kind or "").strip()
        if not row_kind:
            raise ImportFileError(f"line {line}: say which kind (--kind or a kind column)")
        if None in row:
            raise ImportFileError(f"line {line}: more cells than the header has fields")
        yield row_kind, {k.strip(): _typed(k.strip(), v.strip()) for k, v in row.items() if v and v.strip()}


def _typed(name: str, value: str) -> Any:
    if name in INTEGER_FIELDS and value.lstrip("-").isdigit():
        return int(value) if name != "supply" else value  # the API takes big supplies as strings
    if name in BOOLEAN_FIELDS and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    return value


def identity(kind: str, item: dict) -> str:
    if kind == "assets":
        return str(item.get("name", "?")).upper()
    if kind == "markets":
        return str(item.get("id", "?")).upper()
    return f"{str(item.get('from_coin', '?')).upper()}->{str(item.get('to_coin', '?')).upper()}"


def apply(client: AdminClient, items: list[tuple[str, dict]], progress=None) -> list[Outcome]:
    pairs: list[dict] | None = None
    decimals: dict[str, int] = {}
    outcomes = []
    for kind, item in items:
        name = identity(kind, item)
        try:
            if kind == "assets":
                stored = client.exists(f"/admin/assets/{name}")
            elif kind == "markets":
                stored = client.exists(f"/admin/markets/{name}")
            else:
                if pairs is None:
                    pairs = client.get("/admin/pairs")
                stored = next((p for p in pairs if identity("pairs", p) == name), None)
            if stored is None:
                client.post(f"/admin/{kind}", item)
                if kind == "pairs":
                    pairs = None
                outcomes.append(Outcome(kind, name, "created"))
            else:
                if kind == "markets" and "min_amount" in item:
                    base = str(stored["base"])
                    if base not in decimals:
                        decimals[base] = int(client.get(f"/admin/assets/{base}")["decimals"])
                    stored = {**stored, "min_amount": Decimal(stored["min_amount"]).scaleb(-decimals[base])}
                differences = _differences(item, stored)
                outcomes.append(Outcome(kind, name, "differs" if differences else "unchanged", "; ".join(differences)))
        except ApiError as error:
            outcomes.append(Outcome(kind, name, "failed", error.message))
        if progress is not None:
            progress()
    return outcomes


def _differences(item: dict, stored: dict) -> list[str]:
    return [f"{field}: stored {stored.get(field)!r}, file {value!r}" for field, value in item.items()
            if not _same(field, value, stored.get(field))]


def _same(field: str, wanted: Any, stored: Any) -> bool:
    if wanted is None or stored is None:
        return wanted == stored
    if field in UPPER_FIELDS:
        return str(wanted).strip().upper() == str(stored).upper()
    if field == "token_address":
        return str(wanted).lower() == str(stored).lower()
    if field in DECIMAL_FIELDS or field in INTEGER_FIELDS:
        try:
            return Decimal(str(wanted)) == Decimal(str(stored))
        except InvalidOperation:
            return False
    return wanted == stored
