"""Finding 2: a refresh token is bound to its client. A confidential client's token is redeemed
only at /oauth/token with that client's authentication (RFC 6749 §6, RFC 9700 §4.14);
/auth/refresh serves the portal and the CLI only."""

from __future__ import annotations

import httpx


def test_a_confidential_clients_refresh_token_is_refused_at_auth_refresh(
    server, metadata, browser, third_party_tokens
):
    http, _ = browser
    app, token = third_party_tokens(http, ["openid", "profile", "offline_access"])
    stolen = httpx.post(
        f"{server.url}/auth/refresh", json={"refresh_token": token["refresh_token"]}
    )
    assert stolen.status_code == 401
    assert stolen.headers["Content-Type"] == "application/problem+json"
    assert "/oauth/token" in stolen.json()["detail"]

    form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    anonymous = httpx.post(metadata["token_endpoint"], data={**form, "client_id": app["client_id"]})
    assert anonymous.status_code in (400, 401) and anonymous.json()["error"] == "invalid_client"

    owner = httpx.post(
        metadata["token_endpoint"], data=form, auth=(app["client_id"], app["client_secret"])
    )
    assert owner.status_code == 200, owner.text  # the refused attempts did not spend it


def test_portal_and_cli_sessions_still_refresh_at_auth_refresh(server, api):
    account = api.register()
    portal = api.login(account)
    assert api.http.post(
        "/auth/refresh", json={"refresh_token": portal["refresh_token"]}
    ).is_success
    cli = httpx.post(
        f"{server.url}/auth/login",
        json={"email": account.email, "password": account.password, "client_id": "limen-cli"},
    ).json()
    again = httpx.post(f"{server.url}/auth/refresh", json={"refresh_token": cli["refresh_token"]})
    assert again.status_code == 200, again.text
