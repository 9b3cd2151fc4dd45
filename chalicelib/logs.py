"""JSON-lines formatting of the local tooling's logs (the Lambda functions log through
`chalicelib.observability`, Powertools' Logger), and a millisecond timer."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "fields"}


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "event", "logger", ...}`: the fields come from `extra={...}` (or,
    as the local tooling writes them, `extra={"fields": {...}}`)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,  # INFO, WARNING, ERROR: as Powertools writes them
            "event": record.getMessage(),
            "logger": record.name,
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                line.setdefault(key, value)
        if record.exc_info:
            kind = record.exc_info[0]
            line["error"] = f"{kind.__name__}: {record.exc_info[1]}" if kind else None
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def ms(self) -> float:
        return round((time.perf_counter() - self.start) * 1000, 2)
