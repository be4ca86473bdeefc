"""Per-client access-token signing (access_token_signed_response_alg, a Limen extension):
ES256 by default, RS256 or EdDSA when the client chose it; such tokens verify at /api/v1/me on
every node and, through the JWKS, with a real JWT library; forged headers are refused."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.security.flows import code_flow


def header_of(token: str) -> dict:
    segment = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def service_token(metadata, client) -> str:
    got = httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert got.status_code == 200, got.text
    return str(got.json()["access_token"])


def me(url: str, token: str) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.filterwarnings("ignore::joserfc.errors.SecurityWarning")  # EdDSA (RFC 9864)
@pytest.mark.parametrize("alg", ["RS256", "EdDSA", "ES256", None])
def test_a_client_s_access_tokens_are_signed_as_it_chose(alg, deployment, metadata, make_client):
    chosen = {"access_token_signed_response_alg": alg} if alg else {}
    client = make_client(grant_types=["client_credentials"], scopes=["profile"], **chosen)
    expected = alg or "ES256"
    assert client["access_token_signed_response_alg"] == expected
    token = service_token(metadata, client)
    assert header_of(token)["alg"] == expected and header_of(token)["typ"] == "at+jwt"
    for node in deployment:  # verified by the node that did not sign it too
        time.sleep(1.1)  # an unknown kid reloads a node's ring at most once a second
        answer = me(node.url, token)
        assert answer.status_code == 200, answer.text
        assert answer.json()["sub"] == client["client_id"]
    keys = KeySet.import_key_set(httpx.get(metadata["jwks_uri"]).json())
    claims = jwt.decode(token, keys, algorithms=[expected]).claims
    assert claims["client_id"] == client["client_id"] and claims["iss"] == metadata["issuer"]


@pytest.mark.parametrize("alg", ["none", "HS256", "rs256", "PS256", "", 256, ["RS256"]])
def test_an_unknown_algorithm_is_refused_at_registration(alg, server, admin_headers):
    body = {
        "name": "svc",
        "grant_types": ["client_credentials"],
        "access_token_signed_response_alg": alg,
    }
    answer = httpx.post(f"{server.url}/api/v1/clients", json=body, headers=admin_headers)
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "access_token_signed_response_alg" in answer.json()["detail"]


def test_forged_headers_on_an_rs256_token_are_refused(server, metadata, make_client):
    client = make_client(
        grant_types=["client_credentials"],
        scopes=["profile"],
        access_token_signed_response_alg="RS256",
    )
    token = service_token(metadata, client)
    head, body, signature = token.split(".")
    header = header_of(token)
    forged = {
        "es256 claimed, rs256 key": f"{b64({**header, 'alg': 'ES256'})}.{body}.{signature}",
        "eddsa claimed": f"{b64({**header, 'alg': 'EdDSA'})}.{body}.{signature}",
        "alg none": f"{b64({**header, 'alg': 'none'})}.{body}.",
        "HS256 with the public key": f"{b64({**header, 'alg': 'HS256'})}.{body}.{signature}",
        "payload changed": f"{head}.{b64({'sub': 'someone-else'})}.{signature}",
        "signature cut": f"{head}.{body}.{signature[:-8]}",
    }
    for what, value in forged.items():
        answer = me(server.url, value)
        assert answer.status_code == 401, (what, answer.text)
        assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"], what
    assert me(server.url, token).status_code == 200


def test_a_person_s_tokens_and_their_refreshes_keep_the_client_s_algorithm(
    server, metadata, make_client, browser
):
    http, _ = browser
    app = make_client(
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=["https://app.example.com/cb"],
        scopes=["openid", "profile", "offline_access"],
        access_token_signed_response_alg="RS256",
    )
    first = code_flow(http, metadata, app, "openid profile offline_access")
    assert header_of(first["access_token"])["alg"] == "RS256"
    refreshed = httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert refreshed.status_code == 200, refreshed.text
    token = refreshed.json()["access_token"]
    assert header_of(token)["alg"] == "RS256"
    answer = me(server.url, token)
    assert answer.status_code == 200 and answer.json()["acr"] == "urn:limen:acr:1fa"
