"""Tests for chalicelib.auth.sessions: HS256 session JWTs with an injected clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest

from chalicelib.auth.sessions import (
    DEFAULT_LIFETIME,
    SessionError,
    issue_token,
    token_from_header,
    verify_token,
)

# 64 bytes, so that PyJWT does not warn even when a test signs with HS512.
SECRET = "unit-test-session-secret-".ljust(64, "s")
OTHER_SECRET = "another-unit-test-secret-".ljust(64, "o")
ADDRESS = "0x1bbfd4009dde73595b6ff4abac9dd1494438aaae"
NOW = 1_535_960_076

# /work/shared/specs/relayer-v0.md, POST /v0/auth example response.
SPEC_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJleHAiOjE1MzY1NjQ4NzYsImlzcyI6IjB4MWJiZmQ0MDA5ZGRlNzM1OTViNmZmNGFiYWM5ZGQxNDk0NDM4YWFhZSIsIm5iZiI6MTUzNTk2MDA3Nn0"
    ".OScS5DJA1N-eAer2ymhnJQl9koS2QSZbgBCOQ_0h6Fw"
)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_json(obj: object) -> str:
    return _b64url(json.dumps(obj, separators=(",", ":")).encode())


def _unb64url_json(segment: str) -> object:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _forge(header: dict, claims: dict, key: str = SECRET, digest=hashlib.sha256) -> str:
    """A JWT assembled by hand, HMAC-signed with `digest` whatever `header` claims."""
    signing_input = f"{_b64url_json(header)}.{_b64url_json(claims)}"
    sig = hmac.new(key.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{_b64url(sig)}"


def _claims(**overrides) -> dict:
    claims = {"exp": NOW + DEFAULT_LIFETIME, "iss": ADDRESS, "nbf": NOW}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


HS256_HEADER = {"alg": "HS256", "typ": "JWT"}


# --- the spec's example token -----------------------------------------------------------------


def test_spec_example_token_claims():
    header, payload, _sig = SPEC_TOKEN.split(".")
    assert _unb64url_json(header) == {"alg": "HS256", "typ": "JWT"}
    claims = _unb64url_json(payload)
    assert claims == {"exp": 1536564876, "iss": ADDRESS, "nbf": 1535960076}
    assert claims["exp"] - claims["nbf"] == 7 * 24 * 3600


def test_issue_token_reproduces_spec_header_and_payload_bytes():
    token = issue_token(ADDRESS, SECRET, now=1535960076)
    assert token.split(".")[:2] == SPEC_TOKEN.split(".")[:2]


def test_spec_token_signature_is_not_ours():
    # The spec's signing secret is unknown: its token must not verify under ours.
    with pytest.raises(SessionError):
        verify_token(SPEC_TOKEN, SECRET, now=NOW + 1)


# --- round trip and the clock -----------------------------------------------------------------


def test_round_trip_returns_lower_case_address():
    token = issue_token("0x" + ADDRESS[2:].upper(), SECRET, now=NOW)
    assert verify_token(token, SECRET, now=NOW) == ADDRESS
    assert verify_token(token, SECRET.encode(), now=NOW + DEFAULT_LIFETIME - 1) == ADDRESS


def test_custom_lifetime():
    token = issue_token(ADDRESS, SECRET, now=NOW, lifetime=60)
    assert verify_token(token, SECRET, now=NOW + 59) == ADDRESS
    with pytest.raises(SessionError, match="expired"):
        verify_token(token, SECRET, now=NOW + 60)


def test_expired_at_exp():
    token = issue_token(ADDRESS, SECRET, now=NOW)
    with pytest.raises(SessionError, match="expired"):
        verify_token(token, SECRET, now=NOW + DEFAULT_LIFETIME)


def test_not_yet_valid_before_nbf():
    token = issue_token(ADDRESS, SECRET, now=NOW)
    with pytest.raises(SessionError, match="not yet valid"):
        verify_token(token, SECRET, now=NOW - 1)


def test_clock_is_injected_not_read():
    # Valid in 2018 by the injected clock although long expired by the wall clock, and
    # valid far in the future although not yet valid by the wall clock.
    assert verify_token(issue_token(ADDRESS, SECRET, now=NOW), SECRET, now=NOW) == ADDRESS
    later = 4_000_000_000
    assert verify_token(issue_token(ADDRESS, SECRET, now=later), SECRET, now=later) == ADDRESS


def test_iat_in_the_future_is_not_checked_against_the_wall_clock():
    token = _forge(HS256_HEADER, _claims(iat=4_000_000_000))
    assert verify_token(token, SECRET, now=NOW) == ADDRESS


# --- tampering and algorithms -----------------------------------------------------------------


def test_wrong_secret():
    token = issue_token(ADDRESS, SECRET, now=NOW)
    with pytest.raises(SessionError):
        verify_token(token, OTHER_SECRET, now=NOW)


def test_tampered_payload():
    header, _payload, sig = issue_token(ADDRESS, SECRET, now=NOW).split(".")
    other = "0x" + "11" * 20
    forged_payload = _b64url_json(_claims(iss=other))
    with pytest.raises(SessionError):
        verify_token(f"{header}.{forged_payload}.{sig}", SECRET, now=NOW)
    longer = _b64url_json(_claims(exp=NOW + 10 * DEFAULT_LIFETIME))
    with pytest.raises(SessionError):
        verify_token(f"{header}.{longer}.{sig}", SECRET, now=NOW)


def test_tampered_signature():
    header, payload, sig = issue_token(ADDRESS, SECRET, now=NOW).split(".")
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    with pytest.raises(SessionError):
        verify_token(f"{header}.{payload}.{flipped}", SECRET, now=NOW)
    with pytest.raises(SessionError):
        verify_token(f"{header}.{payload}.", SECRET, now=NOW)


def test_alg_none_rejected():
    payload = _b64url_json(_claims())
    for header in ({"alg": "none"}, {"alg": "none", "typ": "JWT"}, {"alg": "None"}, {"alg": "NONE"}):
        unsigned = f"{_b64url_json(header)}.{payload}."
        with pytest.raises(SessionError):
            verify_token(unsigned, SECRET, now=NOW)
    # alg none carrying a valid-looking HS256 signature is still refused.
    with pytest.raises(SessionError):
        verify_token(_forge({"alg": "none", "typ": "JWT"}, _claims()), SECRET, now=NOW)


def test_missing_alg_rejected():
    with pytest.raises(SessionError):
        verify_token(_forge({"typ": "JWT"}, _claims()), SECRET, now=NOW)


def test_hs512_rejected_even_with_the_right_secret():
    token = jwt.encode(_claims(), SECRET, algorithm="HS512")
    assert jwt.get_unverified_header(token)["alg"] == "HS512"
    with pytest.raises(SessionError):
        verify_token(token, SECRET, now=NOW)
    with pytest.raises(SessionError):
        verify_token(
            _forge({"alg": "HS512", "typ": "JWT"}, _claims(), digest=hashlib.sha512), SECRET, now=NOW
        )


def test_rs256_header_rejected():
    # Algorithm confusion: an RS256 header with an HMAC made from the shared secret.
    with pytest.raises(SessionError):
        verify_token(_forge({"alg": "RS256", "typ": "JWT"}, _claims()), SECRET, now=NOW)
    with pytest.raises(SessionError):
        verify_token(_forge({"alg": "ES256", "typ": "JWT"}, _claims()), SECRET, now=NOW)


def test_hand_forged_hs256_with_our_secret_is_accepted():
    # Control for the forged-token tests above: the forging helper itself is sound.
    assert verify_token(_forge(HS256_HEADER, _claims()), SECRET, now=NOW) == ADDRESS


# --- claims -----------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["exp", "nbf", "iss"])
def test_missing_claim_rejected(missing):
    claims = _claims()
    del claims[missing]
    with pytest.raises(SessionError):
        verify_token(_forge(HS256_HEADER, claims), SECRET, now=NOW)


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": str(NOW + 100)},
        {"exp": float(NOW + 100)},
        {"exp": True},
        {"nbf": str(NOW)},
        {"nbf": float(NOW)},
        {"iss": "0x" + ADDRESS[2:].upper()},
        {"iss": ADDRESS[2:]},
        {"iss": ADDRESS + "00"},
        {"iss": "alice"},
        {"iss": 12345},
        {"iss": ""},
    ],
)
def test_malformed_claims_rejected(overrides):
    with pytest.raises(SessionError):
        verify_token(_forge(HS256_HEADER, _claims(**overrides)), SECRET, now=NOW)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.b", "...", "eyJ.eyJ.eyJ", None, 42])
def test_garbage_tokens_rejected(token):
    with pytest.raises(SessionError):
        verify_token(token, SECRET, now=NOW)


def test_json_array_payload_rejected():
    signing_input = f"{_b64url_json(HS256_HEADER)}.{_b64url(b'[1,2,3]')}"
    sig = _b64url(hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest())
    with pytest.raises(SessionError):
        verify_token(f"{signing_input}.{sig}", SECRET, now=NOW)


# --- configuration errors ---------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["", "short", b"x" * 31])
def test_short_secret_is_a_configuration_error(secret):
    with pytest.raises(ValueError):
        issue_token(ADDRESS, secret, now=NOW)
    with pytest.raises(ValueError):
        verify_token(issue_token(ADDRESS, SECRET, now=NOW), secret, now=NOW)


@pytest.mark.parametrize("address", ["", "0x123", ADDRESS[2:], ADDRESS + "0", None])
def test_issue_token_rejects_non_address(address):
    with pytest.raises(ValueError):
        issue_token(address, SECRET, now=NOW)


@pytest.mark.parametrize(("now", "lifetime"), [(NOW, 0), (NOW, -1), (float(NOW), 60), (NOW, 1.5)])
def test_issue_token_rejects_bad_times(now, lifetime):
    with pytest.raises(ValueError):
        issue_token(ADDRESS, SECRET, now=now, lifetime=lifetime)


# --- Authorization header ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("BEARER   abc.def.ghi  ", "abc.def.ghi"),
        ("abc.def.ghi", "abc.def.ghi"),
        ("  abc.def.ghi\n", "abc.def.ghi"),
        ("", None),
        ("   ", None),
        (None, None),
        ("Bearer", None),
        ("Bearer ", None),
        ("Token abc.def.ghi", None),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearer a b", None),
    ],
)
def test_token_from_header(value, expected):
    assert token_from_header(value) == expected


def test_header_with_and_without_bearer_verifies():
    token = issue_token(ADDRESS, SECRET, now=NOW)
    for value in (token, f"Bearer {token}"):
        extracted = token_from_header(value)
        assert extracted is not None
        assert verify_token(extracted, SECRET, now=NOW) == ADDRESS
