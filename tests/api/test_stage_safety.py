"""Issue 10, item 6: stage-safe defaults. Outside the local stage the spec's replayable
fixed sign-in message is off unless an operator switches it on, and a function whose
secrets are still the local defaults fails every invocation with a clear log line."""

from __future__ import annotations

import contextlib
import logging

import pytest

from chalicelib import settings
from tests.api.relayer_helpers import post
from tests.unit.test_ethereum import AUTH_ADDRESS, AUTH_DATA, AUTH_SIGNATURE

FIXED = {"address": AUTH_ADDRESS, "data": AUTH_DATA, "signature": AUTH_SIGNATURE}  # the spec's own example


@contextlib.contextmanager
def stage_client(stage: str):
    """The app as deployed in `stage`: chalice.test.Client applies that stage's environment
    of .chalice/config.json (LAMBDEX_STAGE among it) to every invocation."""
    from chalice.test import Client

    import app

    with Client(app.app, stage_name=stage) as test_client:
        yield test_client


@pytest.mark.parametrize(("stage", "switch", "status"), [
    ("dev", None, 401), ("prod", None, 401), ("prod", "auto", 401), ("local", None, 200),
    ("prod", "true", 200), ("local", "false", 401),
])
def test_the_fixed_sign_in_message_is_off_outside_the_local_stage(ledger, monkeypatch, stage, switch, status):
    if switch is None:
        monkeypatch.delenv("LAMBDEX_0X_ALLOW_FIXED_MESSAGE", raising=False)
    else:
        monkeypatch.setenv("LAMBDEX_0X_ALLOW_FIXED_MESSAGE", switch)
    with stage_client(stage) as client:
        response = post(client, "/v0/auth", FIXED)
    assert response.status_code == status, response.body
    if status == 401:
        assert "nonce" in response.json_body["error"]["reason"]


@pytest.mark.parametrize("secret", settings.SECRETS)
def test_a_deployed_function_with_a_local_default_secret_refuses_to_run(ledger, monkeypatch, caplog, secret):
    monkeypatch.setenv(secret, settings._BY_NAME[secret].default)
    with stage_client("prod") as client, caplog.at_level(logging.CRITICAL, "lambdex.settings"):
        assert client.http.get("/v0/markets").status_code == 500
        with pytest.raises(settings.UnsafeSettings):
            client.lambda_.invoke("run_scheduler", client.events.generate_cw_event(
                source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(lines) == 2 and all(f"stage 'prod' refuses to run with the local default of {secret}" in m
                                   for m in lines)
    with stage_client("local") as client:  # the local stage runs on its defaults
        assert client.http.get("/v0/markets").status_code == 200


def test_a_deployed_function_with_its_secrets_set_runs(ledger):
    for secret in settings.SECRETS:
        assert settings.get(secret) != settings._BY_NAME[secret].default  # tests/environment.py sets them all
    with stage_client("prod") as client:
        assert client.http.get("/v0/markets").status_code == 200
