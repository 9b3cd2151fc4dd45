"""The admin API over HTTP: one `requests` session, the bearer token, the operator header."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

TIMEOUT = 60.0  # seconds; a first request to a cold Lambda can take a few


class ApiError(Exception):
    def __init__(self, status: int, message: str, body: Any = None):
        super().__init__(message)
        self.status, self.message, self.body = status, message, body


def new_session() -> requests.Session:
    """The HTTP session every command uses (tests mount an adapter onto the app here)."""
    return requests.Session()


@dataclass
class AdminClient:
    url: str
    token: str
    operator: str
    session: requests.Session = field(default_factory=lambda: new_session())

    def request(self, method: str, path: str, payload: Any = None, params: dict | None = None,
                reason: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        if reason is not None:
            headers["X-Lambdex-Operator"] = self.operator
            payload = {**(payload or {}), "reason": reason}
        try:
            response = self.session.request(method, self.url.rstrip("/") + path, json=payload, headers=headers,
                                            params={k: v for k, v in (params or {}).items() if v is not None},
                                            timeout=TIMEOUT)
        except requests.RequestException as error:
            raise ApiError(0, f"cannot reach {self.url}: {error}") from error
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            detail = body.get("error") if isinstance(body, dict) else None
            if isinstance(detail, dict):
                message = detail.get("message") or str(detail)
            else:
                message = response.text[:500] or response.reason
            raise ApiError(response.status_code, f"{method} {path}: {response.status_code} {message}", body)
        return body

    def get(self, path: str, **params) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, payload: Any = None, reason: str | None = None) -> Any:
        return self.request("POST", path, payload, reason=reason)

    def exists(self, path: str) -> Any | None:
        """The record at `path`, or None on a 404."""
        try:
            return self.get(path)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def pages(self, path: str, **params):
        """Every item of a cursor listing, page after page."""
        cursor = params.pop("cursor", None)
        while True:
            page = self.get(path, **params, cursor=cursor)
            yield from page["items"]
            cursor = page.get("cursor")
            if not cursor:
                return
