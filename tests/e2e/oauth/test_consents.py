"""Remembered consent over HTTP: a third-party client allowed once gets its codes with
``prompt=none``; the person takes the consent back through /api/v1/me/consents and every
token the client held for them is refused at once."""

from __future__ import annotations

import secrets

import httpx
from authlib.integrations.httpx_client import OAuth2Client

from tests.support.browser import follow_authorize

CALLBACK = "https://app.example.com/cb"


def allow_and_fetch(metadata, http, app, scope: str) -> tuple[str, dict]:
    """The person allows ``app`` in the browser (``http``); the authorization URL it used and
    the tokens the app fetched with its code (Authlib's client, PKCE S256)."""
    verifier = secrets.token_urlsafe(48)
    with OAuth2Client(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        code_challenge_method="S256",
        redirect_uri=CALLBACK,
        scope=scope,
    ) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier
        )
        token = client.fetch_token(
            metadata["token_endpoint"],
            authorization_response=follow_authorize(http, url),
            code_verifier=verifier,
        )
    return url, token


def test_a_revoked_consent_ends_the_clients_tokens_and_asks_again(
    server, metadata, browser, make_client, api
):
    app = make_client(
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[CALLBACK],
        scopes=["openid", "profile", "offline_access"],
    )
    http, account = browser
    own = api.bearer(api.login(account)["access_token"])
    url, token = allow_and_fetch(metadata, http, app, "openid profile offline_access")
    assert token["refresh_token"]
    silent = http.get(f"{url}&prompt=none", follow_redirects=False)  # remembered: no page
    assert silent.status_code == 302 and "code=" in silent.headers["Location"]

    listed = httpx.get(f"{server.url}/api/v1/me/consents", headers=own).json()["items"]
    assert [(c["client_id"], c["client_name"]) for c in listed] == [(app["client_id"], app["name"])]
    assert set(listed[0]["scopes"]) == {"openid", "profile", "offline_access"}

    gone = httpx.delete(f"{server.url}/api/v1/me/consents/{app['client_id']}", headers=own)
    assert gone.status_code == 204

    refreshed = httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(f"{server.url}/api/v1/me", headers=bearer).status_code == 401
    asked = http.get(f"{url}&prompt=none", follow_redirects=False)
    assert asked.status_code == 302 and "error=consent_required" in asked.headers["Location"]
    assert httpx.get(f"{server.url}/api/v1/me", headers=own).status_code == 200
    assert httpx.get(f"{server.url}/api/v1/me/consents", headers=own).json()["items"] == []


def test_revoking_a_consent_that_is_not_there_is_a_404_problem(server, make_client, api):
    app = make_client(
        grant_types=["authorization_code"], redirect_uris=[CALLBACK], scopes=["openid"]
    )
    own = api.bearer(api.login(api.register())["access_token"])
    answer = httpx.delete(f"{server.url}/api/v1/me/consents/{app['client_id']}", headers=own)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json()["status"] == 404


def test_the_consent_endpoints_are_in_the_openapi_document(server):
    paths = httpx.get(f"{server.url}/api/v1/openapi.json").json()["paths"]
    assert "get" in paths["/api/v1/me/consents"]
    assert "delete" in paths["/api/v1/me/consents/{client_id}"]


def test_the_consent_doors_refuse_strangers_weaker_tokens_and_junk(
    server, metadata, browser, make_client, api
):
    """Another person, the allowed app's own token (no sessions rights) and malformed client
    ids each get a clear 4xx problem; the consent stays where it was."""
    app = make_client(
        grant_types=["authorization_code"], redirect_uris=[CALLBACK], scopes=["openid", "profile"]
    )
    http, account = browser
    own = api.bearer(api.login(account)["access_token"])
    _, token = allow_and_fetch(metadata, http, app, "openid profile")
    consents = f"{server.url}/api/v1/me/consents"
    stranger = api.bearer(api.login(api.register())["access_token"])
    refused = httpx.delete(f"{consents}/{app['client_id']}", headers=stranger)
    assert refused.status_code == 404, refused.text  # the stranger has no such consent
    app_token = {"Authorization": f"Bearer {token['access_token']}"}
    for answer in (
        httpx.get(consents, headers=app_token),
        httpx.delete(f"{consents}/{app['client_id']}", headers=app_token),
    ):
        assert answer.status_code == 403, answer.text  # openid profile holds no sessions right
        assert answer.headers["Content-Type"].startswith("application/problem+json")
    for junk in ("x" * 5000, "%00", "a%2F..%2Fb", "%E2%80%AE", "lc_%20"):
        answer = httpx.delete(f"{consents}/{junk}", headers=own)
        assert 400 <= answer.status_code < 500, (junk, answer.status_code, answer.text)
        assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert httpx.delete(consents, headers=own).status_code in (404, 405)
    listed = httpx.get(consents, headers=own).json()["items"]
    assert [c["client_id"] for c in listed] == [app["client_id"]]  # nothing changed
    assert httpx.get(f"{server.url}/api/v1/me", headers=app_token).status_code == 200
