"""Bounded, resumable pages over a Query: a page of at most `limit` rows and an opaque
cursor (the DynamoDB key to start after) to ask for the next one.

A filter applied to the rows can make a page short, so each call also stops after
`max_reads` items read: the cost of one call is bounded whatever the filter, and the
cursor says where to go on. A cursor is the Query's own LastEvaluatedKey, checked
against the key attributes the index expects before it is sent back to DynamoDB.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chalicelib.errors import InvalidInput

T = TypeVar("T")

MAX_LIMIT = 100
MAX_CURSOR_CHARS = 4096


@dataclass
class Page(Generic[T]):
    rows: list[T]
    cursor: str | None  # None: nothing more


def encode(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True, separators=(",", ":")).encode()).decode()


def decode(cursor: str | None, key_names: set[str]) -> dict[str, Any] | None:
    """The start key a cursor names, or InvalidInput if it is not one this listing made."""
    if not cursor:
        return None
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        key = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if not isinstance(key, dict) or set(key) != key_names:
            raise ValueError("other keys")
        for value in key.values():
            if not (isinstance(value, dict) and len(value) == 1):
                raise ValueError("not an attribute value")
            (kind, text), = value.items()
            if kind not in ("S", "N") or not isinstance(text, str) or not text:
                raise ValueError("not a key value")
            if kind == "N":
                int(text)
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidInput("cursor is not one this listing returned", field="cursor") from None
    return key


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be 1..{MAX_LIMIT}", field="limit")
    return limit


def page(query: Callable[[dict[str, Any] | None], Iterator[T]], key_names: set[str], limit: int,
         cursor: str | None, keep: Callable[[T], bool] = lambda _row: True, max_reads: int = 1000) -> Page[T]:
    """Up to `limit` rows that `keep` accepts, reading at most `max_reads` items.

    `query(start_key)` returns a PynamoDB ResultIterator (its `last_evaluated_key` is the
    key of the last item it yielded when stopped mid-page)."""
    check_limit(limit)
    results = query(decode(cursor, key_names))
    rows: list[T] = []
    reads = 0
    for row in results:
        reads += 1
        if keep(row):
            rows.append(row)
        if len(rows) >= limit or reads >= max_reads:
            break
    return Page(rows, encode(results.last_evaluated_key))  # type: ignore[attr-defined]
