"""JSON-lines logging for the local tooling (the format is `chalicelib.logs`'s).

Every line is ``{"ts", "level", "event", "logger", ...fields}``. Call sites log the
event name as the message and put their fields in ``extra={"fields": {...}}``::

    log.info("db.started", extra={"fields": {"endpoint": url, "seconds": 1.2}})

The local tooling logs under ``lambdex_local.*``, not ``lambdex.*``: ``Chalice(app_name="lambdex")``
sets the ``lambdex`` logger to ERROR (unless ``app.debug``) and stops it propagating.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

from chalicelib.logs import JsonFormatter


def configure(level: int | str = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Route the root logger to ``stream`` (stderr) as JSON lines; return the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def fields(**values: Any) -> dict[str, Any]:
    """Shorthand for ``extra={"fields": {...}}``."""
    return {"fields": values}
