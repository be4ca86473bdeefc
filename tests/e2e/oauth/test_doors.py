"""Doors the flows above do not walk: userinfo by POST, revoking an access token (RFC 7009),
and the CSRF token endpoint a cookie-authenticated client asks for."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client

from tests.support.browser import follow_authorize
from tests.support.factories import Api

from .test_flows import CLI_SCOPES


def cli_tokens(metadata: dict[str, Any], browser: Any, loopback: Any) -> dict[str, Any]:
    """Tokens for limen-cli from the code flow, as the signed-in browser's person."""
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    with OAuth2Client(
        client_id="limen-cli",
        token_endpoint_auth_method="none",
        code_challenge_method="S256",
        redirect_uri=loopback.redirect_uri,
        scope=CLI_SCOPES,
    ) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier
        )
        code = loopback.deliver(follow_authorize(http, url))["code"]
        return dict(
            client.fetch_token(metadata["token_endpoint"], code=code, code_verifier=verifier)
        )


def me(server: Any, access_token: str) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {access_token}"})


def test_userinfo_answers_post_like_get(server, metadata, browser, loopback):
    _, account = browser
    token = cli_tokens(metadata, browser, loopback)["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}

    posted = httpx.post(metadata["userinfo_endpoint"], headers=bearer)
    got = httpx.get(metadata["userinfo_endpoint"], headers=bearer)
    assert posted.status_code == 200 and posted.json() == got.json()
    assert (posted.json()["sub"], posted.json()["email"]) == (account.id, account.email)
    assert posted.headers["Cache-Control"] == "no-store"

    anonymous = httpx.post(metadata["userinfo_endpoint"])
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith(
        "Bearer"
    )


def test_revoking_an_access_token_ends_its_session(server, metadata, browser, loopback):
    tokens = cli_tokens(metadata, browser, loopback)
    assert me(server, tokens["access_token"]).status_code == 200

    revoked = httpx.post(
        metadata["revocation_endpoint"],
        data={
            "token": tokens["access_token"],
            "token_type_hint": "access_token",
            "client_id": "limen-cli",
        },
    )
    assert revoked.status_code == 200
    refused = me(server, tokens["access_token"])
    assert refused.status_code == 401 and refused.json()["cause"] == "revoked_session"
    again = httpx.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "limen-cli",
        },
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_another_client_cannot_revoke_a_token_it_was_not_issued(
    server, metadata, browser, loopback, make_client
):
    tokens = cli_tokens(metadata, browser, loopback)
    other = make_client(grant_types=["client_credentials"], scopes=["profile"])

    answer = httpx.post(
        metadata["revocation_endpoint"],
        data={"token": tokens["access_token"], "token_type_hint": "access_token"},
        auth=(other["client_id"], other["client_secret"]),
    )
    # RFC 7009 §2.1: the token was not issued to this client, so the request is refused.
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    assert me(server, tokens["access_token"]).status_code == 200


def test_the_csrf_endpoint_gives_the_token_a_cookie_write_needs(server):
    with Api(server.url) as api:
        account = api.register()
        api.login(account)  # the portal's cookies, now in api.http
        body = {"name": "ci", "scopes": ["profile"]}
        assert api.http.post("/api/v1/api-keys", json=body).status_code == 403

        answer = api.http.get("/auth/csrf")
        assert answer.status_code == 200 and answer.headers["Cache-Control"].startswith("no-store")
        token = answer.json()["csrf_token"]
        created = api.http.post("/api/v1/api-keys", json=body, headers={"X-CSRFToken": token})
        assert created.status_code == 201, created.text
        assert created.json()["key"].startswith("limen_")
