"""Hostile and broken bearer credentials: each a clear 401 with WWW-Authenticate."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey

from tests.conftest import TEST_SECRET
from tests.support import tokens as t
from tests.support.factories import Api


@pytest.fixture
def real(api: Api, server):
    login = api.login(api.register())
    kid, key, public = t.signing_key(server.env["LIMEN_DATABASE_URL"], TEST_SECRET)
    return login["access_token"], t.unverified_claims(login["access_token"]), kid, key, public


CASES = {
    "tampered claims": lambda tok, c, kid, key, pub: t.tampered(tok, roles=["admin"]),
    "expired": lambda tok, c, kid, key, pub: t.es256(key, kid, t.expired_claims(c)),
    "alg none": lambda tok, c, kid, key, pub: t.alg_none(kid, c),
    "HS256 confusion": lambda tok, c, kid, key, pub: t.hs256_with_public_key(kid, pub, c),
    "unknown kid": lambda tok, c, kid, key, pub: t.es256(
        ECKey.generate_key("P-256", private=True), "someone-elses-key", c
    ),
    "foreign key, our kid": lambda tok, c, kid, key, pub: t.es256(
        ECKey.generate_key("P-256", private=True), kid, c
    ),
    "wrong audience": lambda tok, c, kid, key, pub: t.es256(key, kid, {**c, "aud": "other-api"}),
    "wrong issuer": lambda tok, c, kid, key, pub: t.es256(key, kid, {**c, "iss": "https://evil"}),
    "not an access token": lambda tok, c, kid, key, pub: t.es256(key, kid, c, typ="JWT"),
    "no session claim": lambda tok, c, kid, key, pub: t.es256(
        key, kid, {k: v for k, v in c.items() if k != "sid"}
    ),
    "unknown session": lambda tok, c, kid, key, pub: t.es256(key, kid, {**c, "sid": "nope"}),
    "garbage": lambda *_: "not-a-jwt",
    "three dots of nothing": lambda *_: "..",
    "huge": lambda *_: "a" * 7_000,  # (gunicorn itself answers 431 past 8 KiB of header)
    "refresh token as bearer": lambda *_: "limen_rt_" + "x" * 43,
    "mistyped api key": lambda *_: "limen_AAAAAAAA_" + "B" * 32 + "CCCCCC",
}

EXPECTED_CAUSE = {
    "tampered claims": "bad_signature",
    "expired": "expired",
    "alg none": "bad_algorithm",
    "HS256 confusion": "bad_algorithm",
    "unknown kid": "unknown_kid",
    "foreign key, our kid": "bad_signature",
    "wrong audience": "bad_audience",
    "wrong issuer": "bad_issuer",
    "not an access token": "wrong_type",
    "unknown session": "revoked_session",
    "no session claim": "bad_claims",
    "garbage": "malformed",
    "three dots of nothing": "malformed",
    "huge": "malformed",
    "refresh token as bearer": "wrong_type",
    "mistyped api key": "malformed",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_bearer_token_is_a_clear_401(api: Api, real, case: str):
    token = CASES[case](*real)
    response = api.http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    body = response.json()
    assert body["status"] == 401 and body["detail"]
    assert body["cause"] == EXPECTED_CAUSE[case]
    assert token[:40] not in response.text  # never echoed back


def test_unknown_kid_detail_points_at_another_deployment(api: Api, real):
    token = CASES["unknown kid"](*real)
    detail = api.me(token).json()["detail"]
    assert "another deployment" in detail


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc"])
def test_unsupported_authorization_schemes(api: Api, header: str):
    response = api.http.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_no_credential_is_a_challenge_without_error(api: Api):
    response = api.http.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="limen"'
