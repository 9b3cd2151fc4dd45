"""The one botocore client the core uses for transactions and counters.

PynamoDB models read and write single items; multi-item atomic changes go through
`TransactWriteItems` on this client (see `store.Tx`).
"""

from __future__ import annotations

import functools

from chalicelib import settings

_endpoint: str | None = settings.dynamodb_endpoint()


@functools.cache
def client():
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    return session.create_client(
        "dynamodb",
        region_name=settings.region(),
        endpoint_url=_endpoint,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, tcp_keepalive=True),
    )


def reset(endpoint: str | None) -> None:
    """Use another endpoint from now on (tests switch between moto and DynamoDB Local)."""
    global _endpoint
    _endpoint = endpoint
    client.cache_clear()
