"""Powertools logs and EMF metrics (chalicelib.observability) through the app's handlers."""

from __future__ import annotations

import io
import json

import pytest

from chalicelib import observability
from chalicelib.events import scheduler
from chalicelib.ledger import balances
from tests.api.test_coinbtr_trading import market, place  # noqa: F401 - market is a fixture


@pytest.fixture
def logs():
    """The JSON lines the Powertools handler writes, at INFO."""
    powertools = observability.logger()
    handler, stream = powertools.registered_handler, io.StringIO()
    old_stream, old_level = handler.stream, powertools.log_level
    handler.setStream(stream)
    powertools.setLevel("INFO")
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        handler.setStream(old_stream)
        powertools.setLevel(old_level)


@pytest.fixture
def metrics(monkeypatch, capsys):
    """The EMF documents written on stdout: {metric name: [values]}."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()

    def read() -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for line in capsys.readouterr().out.splitlines():
            document = json.loads(line)
            directive = document["_aws"]["CloudWatchMetrics"][0]
            assert directive["Namespace"] == "Lambdex" and directive["Dimensions"] == [["service"]]
            assert document["service"] == observability._metrics().service  # the table prefix: one per stage
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                found.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
        return found
    return read


def test_one_line_per_request_with_invocation_keys(client, ledger, logs) -> None:
    for _ in range(2):
        assert client.http.get("/v0/token_pairs").status_code == 200
    lines = [line for line in logs() if line["message"] == "request"]
    assert len(lines) == 2
    first = lines[0]
    assert first["level"] == "INFO" and first["logger"] == "lambdex.http" and first["service"] == "lambdex"
    assert first["route"] == "/v0/token_pairs" and first["status"] == 200 and first["method"] == "GET"
    assert {"timestamp", "location", "cold_start", "function_name", "function_request_id"} <= set(first)
    assert lines[1]["cold_start"] is False  # one process: only its first invocation is cold


def test_a_view_that_raises_is_a_500_an_error_line_and_a_5xx_metric(client, ledger, logs, metrics,
                                                                     monkeypatch) -> None:
    def broken(address):
        raise RuntimeError("injected bug")

    monkeypatch.setattr(balances, "balances_of", broken)
    response = client.http.get("/addresses/alice/balances")
    assert response.status_code == 500
    assert metrics() == {"Http5xx": [1.0]}
    errors = [line for line in logs() if line["level"] == "ERROR"]
    assert errors and "injected bug" in json.dumps(errors)
    assert client.http.get("/v0/token_pairs").status_code == 200
    assert metrics() == {}  # a 200 counts nothing


def test_orders_fills_and_retries_are_counted(client, ledger, market, metrics) -> None:  # noqa: F811
    metrics()
    assert place(client, market["alice"], "sell").status_code == 200
    assert place(client, market["bob"], "buy").status_code == 200
    assert metrics() == {"OrdersPlaced": [1.0, 1.0]}  # one EMF line per request
    with observability.invocation(None):
        scheduler.run(ledger)
    assert metrics() == {"Fills": [1.0]}


def test_the_matcher_counts_failing_markets_and_settlement_latency(client, ledger, metrics, monkeypatch) -> None:
    from chalicelib.events import matcher
    from chalicelib.ledger import settlement
    from tests.api.test_health import order_record

    def settle(market_id, clock, **kwargs):
        if market_id == "BAD":
            raise RuntimeError("injected")

    monkeypatch.setattr(settlement, "match_market", settle)
    with observability.invocation(None):
        matcher.handle({"Records": [order_record("BAD", ledger.now() - 2, "1"),
                                    order_record("GOOD", ledger.now() - 0.25, "2")]}, ledger)
    assert metrics() == {"FailingMarkets": [1.0], "SettlementLatency": [250.0]}


def test_disabled_metrics_write_nothing(client, ledger, monkeypatch, capsys) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with observability.invocation(None):
        observability.count("Http5xx")
    assert capsys.readouterr().out == ""



def test_the_local_toolings_lines_survive_the_powertools_logger() -> None:
    """Powertools' Logger filters the root's handlers by its service name as a substring, which
    dropped every `lambdex_local.*` line of the local runner once the app's logger was made.
    A fresh interpreter: the root handler first (as the runner does), then the app's logger."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = ("import logging\n"
              "from chalicelib.local import jsonlog\n"
              "jsonlog.configure('INFO')\n"
              "from chalicelib import observability\n"
              "observability.logger().info('app line')\n"
              "logging.getLogger('lambdex_local.runner').info('runner.ready')\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2],
                         env=dict(os.environ, LAMBDEX_LOG_LEVEL="INFO"), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert [line.get("event") for line in lines if line.get("logger") == "lambdex_local.runner"] == ["runner.ready"]
    assert [line.get("message") for line in lines if line.get("service") == "lambdex"] == ["app line"]  # once
