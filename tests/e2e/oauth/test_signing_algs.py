"""ID token signing algorithms over real HTTP: RS256 by default (Discovery §3 MUST), ES256 or
EdDSA when the client registered it, each key published in JWKS; access tokens stay ES256, and
a token naming a key of another algorithm than its header's is refused, never a 500."""

from __future__ import annotations

import base64
import json
import secrets

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.browser import follow_authorize

REDIRECT = "https://app.example.com/cb"


def header_of(token: str) -> dict:
    part = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def jwks(server) -> dict:
    return dict(httpx.get(f"{server.url}/oauth/jwks").json())


def tokens_for(server, metadata, browser, make_client, **registration) -> dict:
    """A third-party client registered with ``registration`` runs the code flow."""
    app = make_client(
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT],
        scopes=["openid", "profile"],
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
        scope="openid profile",
    ) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, nonce="n-1"
        )
        token = client.fetch_token(
            metadata["token_endpoint"],
            authorization_response=follow_authorize(http, url),
            code_verifier=verifier,
        )
    return {"client": app, **token}


def test_discovery_lists_every_id_token_algorithm(metadata):
    assert metadata["id_token_signing_alg_values_supported"] == ["ES256", "RS256", "EdDSA"]


@pytest.mark.filterwarnings("ignore::joserfc.errors.SecurityWarning")  # EdDSA (RFC 9864)
@pytest.mark.parametrize(
    ("registered", "alg", "kty"),
    [(None, "RS256", "RSA"), ("ES256", "ES256", "EC"), ("EdDSA", "EdDSA", "OKP")],
)
def test_id_tokens_are_signed_as_the_client_registered(
    server, metadata, browser, make_client, registered, alg, kty
):
    extra = {"id_token_signed_response_alg": registered} if registered else {}
    token = tokens_for(server, metadata, browser, make_client, **extra)
    assert token["client"]["id_token_signed_response_alg"] == alg
    header = header_of(token["id_token"])
    assert header["alg"] == alg
    published = {k["kid"]: k for k in jwks(server)["keys"]}
    assert published[header["kid"]]["kty"] == kty and "d" not in published[header["kid"]]
    claims = jwt.decode(token["id_token"], KeySet.import_key_set(jwks(server)), algorithms=[alg])
    assert claims.claims["aud"] == [token["client"]["client_id"]]
    assert claims.claims["nonce"] == "n-1" and claims.claims["at_hash"]
    assert header_of(token["access_token"])["alg"] == "ES256"  # access tokens stay ES256


@pytest.mark.parametrize("alg", ["HS256", "none", "RS512", ""])
def test_an_algorithm_limen_does_not_sign_with_is_refused(server, admin_headers, alg):
    answer = httpx.post(
        f"{server.url}/api/v1/clients",
        json={
            "name": "bad-alg",
            "grant_types": ["authorization_code"],
            "redirect_uris": [REDIRECT],
            "id_token_signed_response_alg": alg,
        },
        headers=admin_headers,
    )
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["field"] == "id_token_signed_response_alg"
    listed = httpx.get(f"{server.url}/api/v1/clients", headers=admin_headers).json()["items"]
    assert "bad-alg" not in {c["name"] for c in listed}  # nothing was written


def test_a_token_naming_a_key_of_another_algorithm_is_refused(
    server, metadata, browser, make_client
):
    tokens_for(server, metadata, browser, make_client)  # the RS256 key exists now
    rsa_kid = next(k["kid"] for k in jwks(server)["keys"] if k["kty"] == "RSA")

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    forged_header = {"alg": "ES256", "kid": rsa_kid, "typ": "at+jwt"}
    forged = ".".join(
        [b64(json.dumps(forged_header).encode()), b64(b'{"sub":"x"}'), b64(b"\0" * 64)]
    )
    answer = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
