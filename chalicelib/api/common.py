"""Helpers every dialect's views share: body parsing and paging (errors: `chalicelib.api.dialects`)."""

from __future__ import annotations

import json
import logging
import math
from typing import Any
from urllib.parse import parse_qs

from chalice import Response
from pydantic import BaseModel, ValidationError

from chalicelib.errors import InvalidInput

log = logging.getLogger("lambdex.api")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
MAX_BODY_BYTES = 64 * 1024  # every body a dialect takes is a few hundred bytes
MAX_DEPTH = 16  # nesting of arrays and objects; the deepest real body (a 0x order) has 2


def is_number(text: str, max_digits: int = 18) -> bool:
    """ASCII digits only (str.isdigit also takes '²' or Arabic-Indic digits), not too many for int()."""
    return text.isascii() and text.isdigit() and len(text) <= max_digits


class BadRequest(InvalidInput):
    """Malformed request (not JSON, wrong content type, bad query parameter)."""


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadRequest(f"the number {text[:40]} is out of range")
    return value


def _refuse_constant(name: str):
    raise BadRequest(f"{name} is not a JSON number")


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest (iterative: a hostile body cannot exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                break
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def json_body(request) -> Any:
    raw = request.raw_body
    if not raw:
        return {}
    try:
        body = json.loads(raw, parse_float=_finite, parse_constant=_refuse_constant)
    except RecursionError as error:
        raise BadRequest(f"the request body nests deeper than {MAX_DEPTH} levels") from error
    except (ValueError, UnicodeDecodeError) as error:  # also an integer of more than 4300 digits
        raise BadRequest("the request body is not valid JSON") from error
    if _depth(body) > MAX_DEPTH:
        raise BadRequest(f"the request body nests deeper than {MAX_DEPTH} levels")
    return body


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
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:  # a JSON body's number
        raw = str(raw)
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit()):
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
