"""The one botocore client the core uses for transactions and counters.

PynamoDB models read and write single items; multi-item atomic changes go through
`TransactWriteItems` on this client (see `store.Tx`).
"""

from __future__ import annotations

import functools
import threading

import botocore.session

from chalicelib import settings

_local = threading.local()

MAX_KEY_BYTES = 1024  # DynamoDB: key attributes are non-empty, a sort key at most 1024 bytes (a hash key 2048)


def is_key(value: str) -> bool:
    """Whether `value` can be a DynamoDB key attribute; lookups of anything else find nothing."""
    return bool(value) and len(value.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES


def session() -> botocore.session.Session:
    """One botocore session per thread, shared by every model and this module.

    PynamoDB would otherwise build a session per model connection, and each new
    session parses the DynamoDB service description again (~15 times at cold start).
    """
    if getattr(_local, "session", None) is None:
        _local.session = botocore.session.get_session()
    return _local.session


def share_session_with_pynamodb() -> None:
    import pynamodb.connection.base as pynamodb_base

    pynamodb_base.get_session = session

_endpoint: str | None = settings.dynamodb_endpoint()


@functools.cache
def client():
    from botocore.config import Config

    return session().create_client(
        "dynamodb",
        region_name=settings.region(),
        endpoint_url=_endpoint,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, tcp_keepalive=True),
    )


def endpoint() -> str | None:
    """The DynamoDB endpoint in use (None: AWS's own, or moto in tests)."""
    return _endpoint


def reset(endpoint: str | None) -> None:
    """Use another endpoint from now on (tests switch between moto and DynamoDB Local)."""
    global _endpoint
    _endpoint = endpoint
    client.cache_clear()
