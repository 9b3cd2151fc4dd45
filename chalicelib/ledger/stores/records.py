"""What the stores of lifecycle records share (deposits, withdrawals, conversions, the
outbox): a table keyed by one string attribute, read by key or by Query on its indexes,
changed by conditional updates, alone or staged on a ledger transaction with its journal
entry. Each store module names its own table, indexes and queries on top of these.

`DynamoRecords` maps a PynamoDB model to a frozen dataclass whose fields are model
attributes of the same names. `MemoryRecords` keeps the dataclasses in a dict and answers
the same index queries the way DynamoDB does: an item is in an index only while it has
both of the index's keys (sparse), sorted by the range key; a staged change whose
condition fails makes the whole commit fail, and nothing of it is applied.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chalicelib.ledger import db, paging, store
from chalicelib.ledger.stores.memory import MemoryLedger

R = TypeVar("R")
OnFail = type[Exception] | Exception
PRESENT = object()  # an `expect` value: the attribute exists, whatever its value


@dataclass(frozen=True)
class Index:
    name: str
    hash: str
    range: str


@functools.cache
def _number_fields(record: type) -> frozenset[str]:
    """The fields typed `int` (or `int | None`): DynamoDB numbers, parsed back to int."""
    hints = typing.get_type_hints(record)
    return frozenset(name for name, hint in hints.items() if hint is int or hint == int | None)


def _failure(on_fail: OnFail, message: str) -> Exception:
    return on_fail if isinstance(on_fail, Exception) else on_fail(message)


def _check_fields(record: type, names) -> None:
    unknown = set(names) - {f.name for f in dataclasses.fields(record)}
    if unknown:
        raise ValueError(f"{record.__name__} has no field {sorted(unknown)}")


class DynamoRecords(Generic[R]):
    def __init__(self, model, record: type[R], indexes: tuple[Index, ...]):
        self.model = model
        self.record = record
        self.key = model._hash_keyname
        self.indexes = {index.name: index for index in indexes}
        self._fields = tuple(f.name for f in dataclasses.fields(record))

    def domain(self, item) -> R:
        numbers = _number_fields(self.record)
        values = {}
        for name in self._fields:
            value = getattr(item, name)
            values[name] = int(value) if name in numbers and value is not None else value
        return self.record(**values)

    def _item(self, record: R):
        return self.model(**dataclasses.asdict(record))

    def _actions(self, changes: dict[str, Any]) -> list:
        _check_fields(self.record, changes)
        return [getattr(self.model, name).remove() if value is None else getattr(self.model, name).set(value)
                for name, value in changes.items()]

    def _condition(self, expect: dict[str, Any]):
        _check_fields(self.record, expect)
        condition = getattr(self.model, self.key).exists()
        for name, value in expect.items():
            attribute = getattr(self.model, name)
            if value is PRESENT:
                condition &= attribute.exists()
            else:
                condition &= attribute.does_not_exist() if value is None else attribute == value
        return condition

    def get(self, key: str, consistent: bool = True) -> R | None:
        if not db.is_key(key):
            return None
        try:
            return self.domain(self.model.get(key, consistent_read=consistent))
        except self.model.DoesNotExist:
            return None

    def create(self, record: R) -> bool:
        item = self._item(record)
        return store.write_if(lambda: item.save(condition=getattr(self.model, self.key).does_not_exist()))

    def stage_create(self, tx: store.Tx, record: R, on_fail: OnFail = store.StaleRead) -> None:
        tx.put(self._item(record), condition=getattr(self.model, self.key).does_not_exist(), on_fail=on_fail)

    def stage_change(self, tx: store.Tx, key: str, changes: dict[str, Any], expect: dict[str, Any],
                     on_fail: OnFail = store.StaleRead) -> None:
        tx.update(self.model(key), actions=self._actions(changes), condition=self._condition(expect),
                  on_fail=on_fail)

    def change(self, key: str, changes: dict[str, Any], expect: dict[str, Any]) -> bool:
        item = self.model(key)
        actions, condition = self._actions(changes), self._condition(expect)
        return store.write_if(lambda: item.update(actions=actions, condition=condition))

    def query(self, index: str, value: Any, *, limit: int | None = None, newest_first: bool = False,
              at_most: int | None = None, equal: int | None = None) -> list[R]:
        """Items of the index partition `value`, by its range key (`at_most`/`equal`: a key condition on it)."""
        spec = self.indexes[index]
        if isinstance(value, str) and not db.is_key(value):
            return []
        if limit is not None and limit <= 0:
            return []
        range_attribute = getattr(self.model, spec.range)
        condition = None
        if at_most is not None:
            condition = range_attribute <= at_most
        if equal is not None:
            condition = range_attribute == equal
        rows = getattr(self.model, index).query(value, range_key_condition=condition,
                                                scan_index_forward=not newest_first, limit=limit)
        return [self.domain(item) for item in rows]

    def page(self, index: str, value: Any, limit: int, cursor: str | None,
             keep: Callable[[R], bool] = lambda _row: True) -> paging.Page[R]:
        """Newest first (by the index's range key), resumable by `cursor` (`paging.page`)."""
        spec = self.indexes[index]
        key_names = paging.key_types(self.model, self.key, spec.hash, spec.range)

        def query(start):
            return _Mapped(getattr(self.model, index).query(value, scan_index_forward=False,
                                                            last_evaluated_key=start), self.domain)

        return paging.page(query, key_names, limit, cursor, keep, fixed={spec.hash: value})


class _Mapped:
    """A PynamoDB result iterator yielding domain records; `paging.page` reads its
    `last_evaluated_key` when it stops."""

    def __init__(self, results, convert: Callable):
        self._results = results
        self._convert = convert

    def __iter__(self) -> Iterator:
        return (self._convert(item) for item in self._results)

    @property
    def last_evaluated_key(self):
        return self._results.last_evaluated_key


class MemoryRecords(Generic[R]):
    def __init__(self, ledger: MemoryLedger, record: type[R], key: str, indexes: tuple[Index, ...]):
        self._ledger = ledger
        self.record = record
        self.key = key
        self.indexes = {index.name: index for index in indexes}
        self.rows: dict[str, R] = {}

    def _matches(self, row: R | None, expect: dict[str, Any]) -> bool:
        return row is not None and all(getattr(row, name) is not None if value is PRESENT else
                                       getattr(row, name) == value for name, value in expect.items())

    def get(self, key: str, consistent: bool = True) -> R | None:
        with self._ledger.lock:
            return self.rows.get(key)

    def create(self, record: R) -> bool:
        with self._ledger.lock:
            key = getattr(record, self.key)
            if key in self.rows:
                return False
            self.rows[key] = record
            return True

    def stage_create(self, tx, record: R, on_fail: OnFail = store.StaleRead) -> None:
        key = getattr(record, self.key)

        def check() -> Exception | None:
            return _failure(on_fail, f"{key} exists") if key in self.rows else None

        def apply() -> None:
            self.rows[key] = record

        tx.stage(check, apply)

    def stage_change(self, tx, key: str, changes: dict[str, Any], expect: dict[str, Any],
                     on_fail: OnFail = store.StaleRead) -> None:
        _check_fields(self.record, {**changes, **expect})

        def check() -> Exception | None:
            return None if self._matches(self.rows.get(key), expect) else _failure(
                on_fail, f"condition failed on {key}")

        def apply() -> None:
            self.rows[key] = dataclasses.replace(self.rows[key], **changes)

        tx.stage(check, apply)

    def change(self, key: str, changes: dict[str, Any], expect: dict[str, Any]) -> bool:
        _check_fields(self.record, {**changes, **expect})
        with self._ledger.lock:
            if not self._matches(self.rows.get(key), expect):
                return False
            self.rows[key] = dataclasses.replace(self.rows[key], **changes)
            return True

    def _partition(self, index: str, value: Any) -> list[R]:
        spec = self.indexes[index]
        with self._ledger.lock:
            found = [r for r in self.rows.values()
                     if getattr(r, spec.hash) == value and getattr(r, spec.range) is not None]
        return sorted(found, key=lambda r: (getattr(r, spec.range), getattr(r, self.key)))

    def query(self, index: str, value: Any, *, limit: int | None = None, newest_first: bool = False,
              at_most: int | None = None, equal: int | None = None) -> list[R]:
        if limit is not None and limit <= 0:
            return []
        spec = self.indexes[index]
        rows = [r for r in self._partition(index, value)
                if (at_most is None or getattr(r, spec.range) <= at_most)
                and (equal is None or getattr(r, spec.range) == equal)]
        if newest_first:
            rows.reverse()
        return rows if limit is None else rows[:limit]

    def page(self, index: str, value: Any, limit: int, cursor: str | None,
             keep: Callable[[R], bool] = lambda _row: True, max_reads: int = 1000) -> paging.Page[R]:
        """As `DynamoRecords.page`: the cursor is the key of the last item read, in wire format."""
        spec = self.indexes[index]
        numbers = _number_fields(self.record)
        names = (self.key, spec.hash, spec.range)
        key_names = {name: "N" if name in numbers else "S" for name in names}
        paging.check_limit(limit)
        start = paging.decode(cursor, key_names, fixed={spec.hash: value})
        rows = list(reversed(self._partition(index, value)))
        if start is not None:
            def position(wire: dict) -> tuple:
                (kind, text), = wire.items()
                return int(text) if kind == "N" else text

            after = (position(start[spec.range]), position(start[self.key]))
            rows = [r for r in rows if (getattr(r, spec.range), getattr(r, self.key)) < after]
        found: list[R] = []
        reads = 0
        for row in rows:
            reads += 1
            if keep(row):
                found.append(row)
            if len(found) >= limit or reads >= max_reads:
                break
        more = reads < len(rows)
        last = rows[reads - 1] if more else None
        next_key = None if last is None else {
            name: {key_names[name]: str(getattr(last, name))} for name in names}
        return paging.Page(found, paging.encode(next_key))
