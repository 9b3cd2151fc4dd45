"""Helpers every dialect's views share: body parsing, paging, error wrapping."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from chalice import Response
from pydantic import BaseModel, ValidationError

from chalicelib.errors import InvalidInput, LedgerError

log = logging.getLogger("lambdex.api")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000


def is_number(text: str, max_digits: int = 18) -> bool:
    """ASCII digits only (str.isdigit also takes '²' or Arabic-Indic digits), not too many for int()."""
    return text.isascii() and text.isdigit() and len(text) <= max_digits


class BadRequest(InvalidInput):
    """Malformed request (not JSON, wrong content type, bad query parameter)."""


def json_body(request) -> Any:
    raw = request.raw_body
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest("the request body is not valid JSON") from error


def form_or_json_body(request) -> dict[str, Any]:
    """JSON, or an URL-encoded form (the converter accepts both)."""
    content_type = (request.headers.get("content-type") or "").lower()
    if "application/x-www-form-urlencoded" in content_type:
        try:
            text = (request.raw_body or b"").decode()
        except UnicodeDecodeError as error:
            raise BadRequest("the form body is not UTF-8") from error
        return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
    body = json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def parse(model: type[BaseModel], data: Any) -> Any:
    """Validate input into a pydantic model; the first problem becomes an InvalidInput."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidInput(f"{field}: {message}" if field else message, field=field) from error


def query_params(request) -> dict[str, str]:
    return dict(request.query_params or {})


def int_param(params: dict[str, str], name: str, default: int, minimum: int = 0,
              maximum: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise BadRequest(f"{name} must be a non-negative integer", field=name)
    if len(raw) > 18:
        raise BadRequest(f"{name} must be between {minimum} and {maximum}", field=name)
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        raise BadRequest(f"{name} must be between {minimum} and {maximum}", field=name)
    return value


def paging(params: dict[str, str], default_limit: int = DEFAULT_LIMIT) -> tuple[int, int]:
    return (int_param(params, "limit", default_limit, 1, MAX_LIMIT), int_param(params, "offset", 0, 0, MAX_OFFSET))


def sort_rows(rows: list[dict], sort: str | None) -> list[dict]:
    """`sort=field` ascending or `sort=-field` descending, on any field of the rows."""
    if not sort:
        return rows
    descending = sort.startswith("-")
    field = sort.lstrip("-+")
    if rows and field not in rows[0]:
        raise BadRequest(f"cannot sort by {field!r}; fields are {sorted(rows[0])}", field="sort")
    return sorted(rows, key=lambda r: (r.get(field) is None, r.get(field)), reverse=descending)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body), status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})


def errors_as(render: Callable[[LedgerError], Response]) -> Callable:
    """Turn domain errors into the dialect's error response; log unexpected ones."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except LedgerError as error:
                log.info("request refused", extra={"view": view.__name__, "status": error.status,
                                                    "reason": error.message})
                return render(error)

        return wrapper

    return decorate
