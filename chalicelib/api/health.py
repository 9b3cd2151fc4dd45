"""`GET /health`: for load balancers, operators and algod clients.

`/health` reports the database (reachable, and how fast), the matcher's stream lag, the
last completed scheduler pass and the markets whose settlement is failing
(`chalicelib.ledger.health`). It answers 200 while the database is reachable (`status` is
`ok`, or `degraded` naming the failing check) and 503 when it is not. It needs no token,
like algod's `GET /health`, so py-algorand-sdk's `AlgodClient.health()` works against it.
algod's `GET /v2/status` lives with the other algod routes (`api/algod.py`).
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.common import json_response
from chalicelib.ledger import health as ledger_health
from chalicelib.ledger.clock import current as clock

health = Blueprint(__name__)


@health.route("/health", methods=["GET"])
def get_health() -> Response:
    report = ledger_health.report(clock())
    if report.status == "unavailable":
        return json_response({"message": "database unreachable", **report.body}, 503)
    return json_response(report.body)

