"""Poll a DynamoDB table's stream and feed its records to a Lambda-style handler.

This is what Lambda's event source mapping does for ``@app.on_dynamodb_record``, for
local runs: the handler gets *real* stream records (from DynamoDB Local or moto's
server), in batches, in the event shape Lambda delivers::

    {"Records": [{"eventID", "eventName", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                  "awsRegion", "dynamodb": {"ApproximateCreationDateTime": <epoch seconds>, "Keys",
                  "NewImage", "OldImage", "SequenceNumber", "SizeBytes", "StreamViewType"},
                  "eventSourceARN": <stream ARN>}]}

Semantics follow Lambda's:

- Shards are read parents first (a child shard starts after its parent is finished);
  a closed shard is finished when GetRecords returns no ``NextShardIterator``.
- Delivery is at least once. If the handler raises, the batch is not checkpointed and the
  same batch is delivered again after a backoff. If it returns
  ``{"batchItemFailures": [{"itemIdentifier": <SequenceNumber>}, ...]}``
  (ReportBatchItemFailures), records before the first failed one are checkpointed and
  delivery resumes from the failed one; an identifier that names no record of the batch
  fails the whole batch, as in Lambda.
- The last successfully delivered sequence number of each shard is kept in a JSON file,
  so that a restarted poller resumes ``AFTER_SEQUENCE_NUMBER`` instead of redelivering.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.local.jsonlog import fields

log = logging.getLogger("lambdex_local.stream")

Handler = Callable[[dict, object], "dict | None"]

_EXPIRED_ITERATOR_CODES = {"ExpiredIteratorException"}
_TRIMMED_CODES = {"TrimmedDataAccessException"}
_GONE_CODES = {"ResourceNotFoundException"}


@dataclass
class LocalLambdaContext:
    """Enough of Lambda's context object for handlers that log or check the time left."""

    function_name: str = "local-stream-handler"
    memory_limit_in_mb: int = 128
    timeout_ms: int = 900_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self.timeout_ms - (time.monotonic() - self._started) * 1000))


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None = None
    checkpoint: str | None = None  # last SequenceNumber delivered successfully (persisted)
    finished: bool = False  # closed and read to the end (persisted)
    iterator: str | None = None
    pending: list[dict] = field(default_factory=list)  # a batch waiting to be redelivered
    pending_next: str | None = None  # NextShardIterator after the pending batch
    pending_closed: bool = False  # the pending batch was the shard's last
    attempts: int = 0
    retry_at: float = 0.0


def to_lambda_record(record: dict, stream_arn: str, default_region: str) -> dict:
    """One DynamoDB Streams ``GetRecords`` record in the shape of a Lambda event record."""
    ddb = dict(record.get("dynamodb", {}))
    created = ddb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        ddb["ApproximateCreationDateTime"] = created.timestamp()
    out = {
        "eventID": record.get("eventID"),
        "eventName": record.get("eventName"),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": record.get("eventSource", "aws:dynamodb"),
        "awsRegion": record.get("awsRegion") or default_region,
        "dynamodb": {k: ddb[k] for k in _DDB_KEYS if k in ddb},
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # TTL deletions carry it, and Lambda passes it on
        out["userIdentity"] = record["userIdentity"]
    return out


_DDB_KEYS = (
    "ApproximateCreationDateTime",
    "Keys",
    "NewImage",
    "OldImage",
    "SequenceNumber",
    "SizeBytes",
    "StreamViewType",
)


class StreamPoller:
    """Polls ``table_name``'s stream and calls ``handler(event, context)`` per batch per shard."""

    def __init__(
        self,
        dynamodb: Any,
        streams: Any,
        table_name: str,
        handler: Handler,
        *,
        checkpoint_path: Path | str | None = None,
        batch_size: int = 100,
        poll_interval: float = 0.5,
        retry_backoff: float = 0.5,
        max_backoff: float = 10.0,
        context_factory: Callable[[], object] | None = None,
    ) -> None:
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be between 1 and 1000 (GetRecords limit)")
        self.dynamodb = dynamodb
        self.streams = streams
        self.table_name = table_name
        self.handler = handler
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path is not None else None
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.retry_backoff = retry_backoff
        self.max_backoff = max_backoff
        self.context_factory = context_factory or LocalLambdaContext
        self.region = getattr(getattr(dynamodb, "meta", None), "region_name", None) or "us-east-1"
        self.stream_arn: str | None = None
        self._shards: dict[str, _Shard] = {}
        self._saved_state: dict | None = None
        self._warned_no_stream = False
        self._load_checkpoints()

    # -- public -------------------------------------------------------------------------

    def checkpoints(self) -> dict[str, str | None]:
        """Shard id -> last sequence number delivered successfully."""
        return {s.shard_id: s.checkpoint for s in self._shards.values()}

    def poll_once(self) -> int:
        """One GetRecords per ready shard (parents first); return the number of records handed
        to the handler (a redelivered batch counts again)."""
        if not self._discover_stream():
            return 0
        try:
            self._refresh_shards()
        except ClientError as error:
            if _code(error) in _GONE_CODES:
                self._forget_stream("stream not found")
                return 0
            raise
        delivered = 0
        for shard in self._ordered_shards():
            if shard.finished or not self._parent_done(shard):
                continue
            delivered += self._poll_shard(shard)
        self._save_checkpoints()
        return delivered

    def run(self, stop_event: threading.Event) -> None:
        """Poll until ``stop_event`` is set. Errors are logged and polling goes on."""
        log.info("stream.poller_started", extra=fields(table=self.table_name,
                                                       checkpoint_file=str(self.checkpoint_path)))
        while not stop_event.is_set():
            try:
                delivered = self.poll_once()
            except Exception:
                log.exception("stream.poll_error", extra=fields(table=self.table_name))
                delivered = 0
            if not delivered:
                stop_event.wait(self.poll_interval)
        log.info("stream.poller_stopped", extra=fields(table=self.table_name))

    # -- stream and shard discovery -----------------------------------------------------------

    def _discover_stream(self) -> bool:
        if self.stream_arn is not None:
            return True
        try:
            table = self.dynamodb.describe_table(TableName=self.table_name)["Table"]
        except ClientError as error:
            if _code(error) not in _GONE_CODES:
                raise
            table = {}
        arn = table.get("LatestStreamArn")
        enabled = table.get("StreamSpecification", {}).get("StreamEnabled", bool(arn))
        if not arn or not enabled:
            if not self._warned_no_stream:
                log.warning("stream.not_available", extra=fields(
                    table=self.table_name, reason="table missing" if not table else "stream not enabled"))
                self._warned_no_stream = True
            return False
        self._warned_no_stream = False
        saved_arn = (self._saved_state or {}).get("stream_arn")
        if saved_arn and saved_arn != arn:
            log.warning("stream.checkpoints_reset", extra=fields(
                table=self.table_name, old_stream=saved_arn, new_stream=arn,
                reason="the table's stream changed (table recreated?); reading the new one from the start"))
            self._shards.clear()
        self.stream_arn = arn
        log.info("stream.discovered", extra=fields(table=self.table_name, stream=arn,
                                                   resumed_shards=len(self._shards)))
        return True

    def _forget_stream(self, reason: str) -> None:
        log.warning("stream.lost", extra=fields(table=self.table_name, stream=self.stream_arn, reason=reason))
        self.stream_arn = None

    def _refresh_shards(self) -> None:
        listed: dict[str, dict] = {}
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            page = self.streams.describe_stream(**kwargs)["StreamDescription"]
            for shard in page.get("Shards", []):
                listed[shard["ShardId"]] = shard
            last = page.get("LastEvaluatedShardId")
            if not last:
                break
            kwargs["ExclusiveStartShardId"] = last
        for shard_id, shard in listed.items():
            known = self._shards.get(shard_id)
            if known is None:
                self._shards[shard_id] = _Shard(shard_id, shard.get("ParentShardId"))
                log.info("stream.shard_found", extra=fields(table=self.table_name, shard=shard_id,
                                                            parent=shard.get("ParentShardId")))
            elif known.parent_id is None:
                known.parent_id = shard.get("ParentShardId")
        for shard_id in [s for s in self._shards if s not in listed]:
            gone = self._shards.pop(shard_id)
            if not gone.finished:
                log.warning("stream.shard_trimmed", extra=fields(table=self.table_name, shard=shard_id,
                                                                 checkpoint=gone.checkpoint))

    def _parent_done(self, shard: _Shard) -> bool:
        parent = self._shards.get(shard.parent_id) if shard.parent_id else None
        return parent is None or parent.finished

    def _ordered_shards(self) -> list[_Shard]:
        """Shards with every ancestor before its descendants (stable by shard id otherwise)."""
        ordered: list[_Shard] = []
        seen: set[str] = set()

        def visit(shard: _Shard, path: set[str]) -> None:
            if shard.shard_id in seen or shard.shard_id in path:
                return
            parent = self._shards.get(shard.parent_id) if shard.parent_id else None
            if parent is not None:
                visit(parent, path | {shard.shard_id})
            seen.add(shard.shard_id)
            ordered.append(shard)

        for shard_id in sorted(self._shards):
            visit(self._shards[shard_id], set())
        return ordered

    # -- reading and delivering ---------------------------------------------------------------

    def _open_iterator(self, shard: _Shard) -> str | None:
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        if shard.checkpoint:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.checkpoint)
        else:
            kwargs.update(ShardIteratorType="TRIM_HORIZON")
        try:
            return self.streams.get_shard_iterator(**kwargs).get("ShardIterator")
        except ClientError as error:
            if _code(error) in _TRIMMED_CODES and shard.checkpoint:
                log.error("stream.checkpoint_trimmed", extra=fields(
                    table=self.table_name, shard=shard.shard_id, checkpoint=shard.checkpoint,
                    reason="records after the checkpoint were trimmed; some were never delivered"))
                shard.checkpoint = None
                return self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard.shard_id, ShardIteratorType="TRIM_HORIZON"
                ).get("ShardIterator")
            raise

    def _poll_shard(self, shard: _Shard) -> int:
        if shard.pending:
            if time.monotonic() < shard.retry_at:
                return 0
            return self._deliver(shard, shard.pending, shard.pending_next, shard.pending_closed)
        response = None
        for _ in range(2):  # an expired iterator is reopened from the checkpoint once, at once
            if shard.iterator is None:
                shard.iterator = self._open_iterator(shard)
                if shard.iterator is None:
                    self._finish(shard)
                    return 0
            try:
                response = self.streams.get_records(ShardIterator=shard.iterator, Limit=self.batch_size)
                break
            except ClientError as error:
                if not (_is_expired_iterator(error) or _code(error) in _TRIMMED_CODES):
                    raise
                log.info("stream.iterator_reopened", extra=fields(
                    table=self.table_name, shard=shard.shard_id, checkpoint=shard.checkpoint,
                    reason=_code(error)))
                shard.iterator = None
        if response is None:
            return 0
        records = response.get("Records", [])
        next_iterator = response.get("NextShardIterator")
        if not records:
            shard.iterator = next_iterator
            if next_iterator is None:
                self._finish(shard)
            return 0
        return self._deliver(shard, records, next_iterator, next_iterator is None)

    def _deliver(self, shard: _Shard, records: list[dict], next_iterator: str | None, closed: bool) -> int:
        assert self.stream_arn is not None
        event = {"Records": [to_lambda_record(r, self.stream_arn, self.region) for r in records]}
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        batch = {"table": self.table_name, "shard": shard.shard_id, "records": len(records),
                 "first_seq": sequence_numbers[0], "last_seq": sequence_numbers[-1],
                 "attempt": shard.attempts + 1}
        started = time.monotonic()
        try:
            result = self.handler(event, self.context_factory())
        except Exception as error:
            self._retry_later(shard, records, next_iterator, closed)
            log.exception("stream.batch_failed", extra=fields(
                **batch, error=f"{type(error).__name__}: {error}", retry_in=round(shard.retry_at - time.monotonic(), 3),
                duration_ms=round((time.monotonic() - started) * 1000, 1)))
            return len(records)
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        failed_at = _first_failure(result, sequence_numbers)
        if failed_at is None:
            shard.checkpoint = sequence_numbers[-1]
            shard.pending, shard.pending_next, shard.pending_closed = [], None, False
            shard.attempts = 0
            shard.iterator = next_iterator
            if closed:
                self._finish(shard)
            log.info("stream.batch", extra=fields(**batch, duration_ms=duration_ms))
            return len(records)
        if failed_at > 0:
            shard.checkpoint = sequence_numbers[failed_at - 1]
        self._retry_later(shard, records[failed_at:], next_iterator, closed)
        log.warning("stream.batch_partial_failure", extra=fields(
            **batch, failed_from_seq=sequence_numbers[failed_at], checkpointed=failed_at,
            retry_in=round(shard.retry_at - time.monotonic(), 3), duration_ms=duration_ms))
        return len(records)

    def _retry_later(self, shard: _Shard, records: list[dict], next_iterator: str | None, closed: bool) -> None:
        shard.attempts += 1
        shard.pending, shard.pending_next, shard.pending_closed = list(records), next_iterator, closed
        shard.iterator = None
        backoff = min(self.max_backoff, self.retry_backoff * 2 ** (shard.attempts - 1))
        shard.retry_at = time.monotonic() + backoff

    def _finish(self, shard: _Shard) -> None:
        if not shard.finished:
            shard.finished = True
            shard.iterator = None
            log.info("stream.shard_finished", extra=fields(table=self.table_name, shard=shard.shard_id,
                                                           checkpoint=shard.checkpoint))

    # -- checkpoints ----------------------------------------------------------------------

    def _state(self) -> dict:
        return {
            "table": self.table_name,
            "stream_arn": self.stream_arn,
            "shards": {
                s.shard_id: {"parent": s.parent_id, "checkpoint": s.checkpoint, "finished": s.finished}
                for s in sorted(self._shards.values(), key=lambda s: s.shard_id)
            },
        }

    def _load_checkpoints(self) -> None:
        if self.checkpoint_path is None or not self.checkpoint_path.exists():
            return
        try:
            state = json.loads(self.checkpoint_path.read_text())
        except (OSError, ValueError):
            log.warning("stream.checkpoint_unreadable", exc_info=True,
                        extra=fields(file=str(self.checkpoint_path)))
            return
        if state.get("table") not in (None, self.table_name):
            log.warning("stream.checkpoint_other_table", extra=fields(
                file=str(self.checkpoint_path), table=self.table_name, file_table=state.get("table")))
            return
        self._saved_state = state
        for shard_id, saved in state.get("shards", {}).items():
            self._shards[shard_id] = _Shard(shard_id, saved.get("parent"), saved.get("checkpoint"),
                                            bool(saved.get("finished")))

    def _save_checkpoints(self) -> None:
        if self.checkpoint_path is None:
            return
        state = self._state()
        if state == self._saved_state:
            return
        self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint_path.with_name(self.checkpoint_path.name + ".tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
        os.replace(tmp, self.checkpoint_path)
        self._saved_state = state


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _is_expired_iterator(error: ClientError) -> bool:
    if _code(error) in _EXPIRED_ITERATOR_CODES:
        return True
    # DynamoDB Local answers an unknown/expired iterator with a ValidationException.
    message = str(error.response.get("Error", {}).get("Message", "")).lower()
    return _code(error) == "ValidationException" and ("iterator" in message or "expired" in message)


def _first_failure(result: object, sequence_numbers: list[str]) -> int | None:
    """Index of the first record to redeliver per ReportBatchItemFailures, or None if all succeeded."""
    if not isinstance(result, dict):
        return None
    failures = result.get("batchItemFailures")
    if not failures:
        return None
    positions = {seq: i for i, seq in enumerate(sequence_numbers)}
    indexes = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in positions:
            return 0  # Lambda: a missing or unknown identifier fails the whole batch
        indexes.append(positions[identifier])
    return min(indexes)
