"""Secrets in AWS: a setting holding `ssm:<name>` or `secretsmanager:<id>` is fetched on
first use, kept for LAMBDEX_SECRET_TTL seconds, and a comma list rotates with a grace period."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from chalicelib import settings
from chalicelib.auth import sessions

ADDRESS = "0x" + "ab" * 20
OLD = "old-jwt-secret-0123456789abcdef0123456789"
NEW = "new-jwt-secret-0123456789abcdef0123456789"


@pytest.fixture
def aws(monkeypatch):
    settings.forget_secrets()
    with mock_aws():
        yield boto3.client("ssm", region_name="us-east-1"), boto3.client("secretsmanager", region_name="us-east-1")
    settings.forget_secrets()


def test_plain_values_are_the_secret_itself(monkeypatch):
    monkeypatch.setenv("LAMBDEX_ADMIN_TOKEN", "plain-token")
    assert settings.admin_token() == "plain-token"
    assert settings.admin_tokens() == ["plain-token"]


def test_ssm_reference_is_fetched_decrypted_and_kept(aws, monkeypatch):
    ssm, _ = aws
    ssm.put_parameter(Name="/lambdex/prod/admin-token", Value="from-ssm", Type="SecureString")
    monkeypatch.setenv("LAMBDEX_ADMIN_TOKEN", "ssm:/lambdex/prod/admin-token")
    assert settings.admin_token() == "from-ssm"
    ssm.put_parameter(Name="/lambdex/prod/admin-token", Value="rotated", Type="SecureString", Overwrite=True)
    assert settings.admin_token() == "from-ssm"  # kept for LAMBDEX_SECRET_TTL
    monkeypatch.setenv("LAMBDEX_SECRET_TTL", "0")
    assert settings.admin_token() == "rotated"  # fetched again once the TTL has passed


def test_secrets_manager_reference_by_arn(aws, monkeypatch):
    _, secretsmanager = aws
    arn = secretsmanager.create_secret(Name="lambdex/prod/address-seed", SecretString="seed-value")["ARN"]
    monkeypatch.setenv("LAMBDEX_ADDRESS_SEED", f"secretsmanager:{arn}")
    assert settings.address_seed() == "seed-value"


def test_a_failed_refresh_keeps_the_value_in_hand_and_a_failed_first_fetch_raises(aws, monkeypatch):
    ssm, _ = aws
    ssm.put_parameter(Name="/lambdex/prod/algod-token", Value="t1", Type="SecureString")
    monkeypatch.setenv("LAMBDEX_ALGOD_TOKEN", "ssm:/lambdex/prod/algod-token")
    assert settings.algod_token() == "t1"
    ssm.delete_parameter(Name="/lambdex/prod/algod-token")
    monkeypatch.setenv("LAMBDEX_SECRET_TTL", "0")
    assert settings.algod_token() == "t1"
    monkeypatch.setenv("LAMBDEX_ALGOD_TOKEN", "ssm:/lambdex/prod/missing")
    with pytest.raises(Exception, match="ParameterNotFound"):
        settings.algod_token()


def test_only_secret_settings_resolve():
    with pytest.raises(KeyError):
        settings.secret("LAMBDEX_TABLE_PREFIX")


def test_jwt_rotation_grace_period(monkeypatch):
    old_token = sessions.issue_token(ADDRESS, OLD, 1000)
    monkeypatch.setenv("LAMBDEX_JWT_SECRET", f"{NEW}, {OLD}")
    assert settings.jwt_secret() == NEW  # the first signs
    assert sessions.verify_token_any(old_token, settings.jwt_secrets(), 1001) == ADDRESS
    new_token = sessions.issue_token(ADDRESS, settings.jwt_secret(), 1000)
    assert sessions.verify_token_any(new_token, settings.jwt_secrets(), 1001) == ADDRESS
    monkeypatch.setenv("LAMBDEX_JWT_SECRET", NEW)  # grace period over
    with pytest.raises(sessions.SessionError, match="Signature"):
        sessions.verify_token_any(old_token, settings.jwt_secrets(), 1001)


def test_an_expired_token_says_expired_whatever_secret_signed_it(monkeypatch):
    old_token = sessions.issue_token(ADDRESS, OLD, 1000, lifetime=10)
    with pytest.raises(sessions.SessionError, match="expired"):
        sessions.verify_token_any(old_token, [NEW, OLD], 2000)


def test_admin_route_accepts_every_listed_token(client, monkeypatch):
    monkeypatch.setenv("LAMBDEX_ADMIN_TOKEN", "new-admin, old-admin")
    for token, status in (("new-admin", 200), ("old-admin", 200), ("other", 401)):
        response = client.http.get("/admin/assets", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == status, token
