"""ID tokens at refresh (OIDC Core §12.2) over real HTTP with Authlib's client: a session first
granted ``openid`` gets a new ID token with each refresh, verified against JWKS, with the
first one's iss, sub, aud, auth_time, amr, acr and sid, a new iat and exp, an at_hash of the
new access token, no nonce, signed with the client's registered algorithm."""

from __future__ import annotations

import secrets
import time

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.browser import follow_authorize

from .test_signing_algs import header_of

REDIRECT = "https://app.example.com/cb"
SAME = ("iss", "sub", "aud", "auth_time", "amr", "acr", "sid")


def verified(server, token: str, alg: str) -> dict:
    keys = KeySet.import_key_set(httpx.get(f"{server.url}/oauth/jwks").json())
    return dict(jwt.decode(token, keys, algorithms=[alg]).claims)


def first_and_refreshed(server, metadata, browser, make_client, scope: str, **registration):
    """A trusted client registered with ``registration`` runs the code flow, then refreshes."""
    app = make_client(
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[REDIRECT],
        scopes=["openid", "profile", "email", "offline_access"],
        trusted=True,
        **registration,
    )
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    with OAuth2Client(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        code_challenge_method="S256",
        redirect_uri=REDIRECT,
        scope=scope,
    ) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, nonce="n-1"
        )
        first = client.fetch_token(
            metadata["token_endpoint"],
            authorization_response=follow_authorize(http, url),
            code_verifier=verifier,
        )
        time.sleep(1.1)  # a new iat is a later second
        refreshed = client.refresh_token(
            metadata["token_endpoint"], refresh_token=first["refresh_token"]
        )
    return app, dict(first), dict(refreshed)


@pytest.mark.filterwarnings("ignore::joserfc.errors.SecurityWarning")  # EdDSA (RFC 9864)
@pytest.mark.parametrize(("registered", "alg"), [(None, "RS256"), ("ES256", "ES256")])
def test_a_refresh_carries_a_new_id_token_of_the_same_authentication(
    server, metadata, browser, make_client, registered, alg
):
    extra = {"id_token_signed_response_alg": registered} if registered else {}
    app, first, refreshed = first_and_refreshed(
        server, metadata, browser, make_client, "openid profile email offline_access", **extra
    )
    assert header_of(refreshed["id_token"])["alg"] == alg
    original = verified(server, first["id_token"], alg)
    renewed = verified(server, refreshed["id_token"], alg)
    assert {k: renewed.get(k) for k in SAME} == {k: original[k] for k in SAME}
    assert renewed["aud"] == [app["client_id"]] and renewed["sid"]
    assert original["nonce"] == "n-1" and "nonce" not in renewed
    assert renewed["iat"] > original["iat"] and renewed["exp"] == renewed["iat"] + 3600
    half = create_half_hash(refreshed["access_token"], alg).decode()
    assert renewed["at_hash"] == half != original["at_hash"]
    assert renewed["email"] == original["email"]  # the scope's claims, as at first


def test_a_session_without_openid_gets_no_id_token_at_refresh(
    server, metadata, browser, make_client
):
    _, first, refreshed = first_and_refreshed(
        server, metadata, browser, make_client, "profile offline_access"
    )
    assert "id_token" not in first and "id_token" not in refreshed
    assert refreshed["access_token"] != first["access_token"]


def test_the_refreshed_id_token_is_a_logout_hint(server, metadata, browser, make_client):
    """Limen reads its own refreshed ID token like the first: RP-Initiated Logout with it
    ends the session it names at once."""
    _, _, refreshed = first_and_refreshed(
        server, metadata, browser, make_client, "openid profile offline_access"
    )
    bearer = {"Authorization": f"Bearer {refreshed['access_token']}"}
    assert httpx.get(f"{server.url}/api/v1/me", headers=bearer).status_code == 200
    answer = httpx.get(
        metadata["end_session_endpoint"], params={"id_token_hint": refreshed["id_token"]}
    )
    assert answer.status_code < 400, answer.text[:300]
    me = httpx.get(f"{server.url}/api/v1/me", headers=bearer)
    assert me.status_code == 401 and me.json()["cause"] == "revoked_session"
