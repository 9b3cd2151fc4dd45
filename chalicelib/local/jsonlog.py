"""JSON-lines logging for the local tooling: one line per event.

Every line is ``{"ts", "level", "event", "logger", ...fields}``. Call sites log the
event name as the message and put their fields in ``extra={"fields": {...}}``::

    log.info("db.started", extra={"fields": {"endpoint": url, "seconds": 1.2}})

The local tooling logs under ``lambdex_local.*``, not ``lambdex.*``: ``Chalice(app_name="lambdex")``
sets the ``lambdex`` logger to ERROR (unless ``app.debug``) and stops it propagating.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                line.setdefault(key, value)
        if record.exc_info:
            line["error"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}" if record.exc_info[0] else None
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


def configure(level: int | str = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Route the root logger to ``stream`` (stderr) as JSON lines; return the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLinesFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def fields(**values: Any) -> dict[str, Any]:
    """Shorthand for ``extra={"fields": {...}}``."""
    return {"fields": values}
