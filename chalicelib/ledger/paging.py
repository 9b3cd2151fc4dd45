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


def key_types(model, *names: str) -> dict[str, str]:
    """The DynamoDB types ("S" or "N") of a model's key attributes, what a cursor must hold."""
    from pynamodb.attributes import NumberAttribute

    attributes = model.get_attributes()
    return {name: "N" if isinstance(attributes[name], NumberAttribute) else "S" for name in names}


def decode(cursor: str | None, key_names: dict[str, str], fixed: dict[str, str] | None = None) -> dict[str, Any] | None:
    """The start key a cursor names, or InvalidInput if it is not one this listing made."""
    if not cursor:
        return None
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        key = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if not isinstance(key, dict) or set(key) != set(key_names):
            raise ValueError("other keys")
        for name, value in key.items():
            if not (isinstance(value, dict) and len(value) == 1):
                raise ValueError("not an attribute value")
            (kind, text), = value.items()
            if kind != key_names[name] or not isinstance(text, str) or not text:
                raise ValueError("not a key value of its type")
            if kind == "N":
                int(text)
        for name, value in (fixed or {}).items():  # the query's own partition: a cursor of another list is not
            if next(iter(key[name].values())) != value:
                raise ValueError("another partition")
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidInput("cursor is not one this listing returned", field="cursor") from None
    return key


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be 1..{MAX_LIMIT}", field="limit")
    return limit


def page(query: Callable[[dict[str, Any] | None], Iterator[T]], key_names: dict[str, str], limit: int,
         cursor: str | None, keep: Callable[[T], bool] = lambda _row: True, max_reads: int = 1000,
         fixed: dict[str, str] | None = None) -> Page[T]:
    """Up to `limit` rows that `keep` accepts, reading at most `max_reads` items; `fixed`:
    the partition key (name -> value) the query reads, which the cursor must name too.

    `query(start_key)` returns a PynamoDB ResultIterator (its `last_evaluated_key` is the
    key of the last item it yielded when stopped mid-page)."""
    from pynamodb.exceptions import QueryError

    check_limit(limit)
    results = query(decode(cursor, key_names, fixed))
    rows: list[T] = []
    reads = 0
    try:
        for row in results:
            reads += 1
            if keep(row):
                rows.append(row)
            if len(rows) >= limit or reads >= max_reads:
                break
    except QueryError as error:  # a well-formed cursor of another listing (other key values or types)
        if cursor and error.cause_response_code == "ValidationException":
            raise InvalidInput("cursor is not one this listing returned", field="cursor") from None
        raise
    return Page(rows, encode(results.last_evaluated_key))  # type: ignore[attr-defined]
