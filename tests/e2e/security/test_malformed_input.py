"""Finding 7: malformed input answers 4xx in the endpoint's own error format, never a 5xx.
The five inputs that used to crash the server; the fuzzing is in test_fuzz_oauth.py."""

from __future__ import annotations

import base64

import httpx
import pytest


def test_basic_auth_that_is_not_utf8_is_an_invalid_client(metadata):
    header = "Basic " + base64.b64encode(b"\xff\xfe:\xc3\x28").decode()
    for endpoint in ("token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        response = httpx.post(
            metadata[endpoint],
            data={"grant_type": "client_credentials", "token": "x"},
            headers={"Authorization": header},
        )
        assert response.status_code == 401, (endpoint, response.text)
        assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("endpoint", ["token_endpoint", "device_authorization_endpoint"])
def test_an_unknown_host_header_is_a_bad_request(metadata, endpoint):
    response = httpx.post(
        metadata[endpoint],
        data={"grant_type": "client_credentials", "client_id": "limen-cli"},
        headers={"Host": "evil.example"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "endpoint", ["token_endpoint", "device_authorization_endpoint", "revocation_endpoint"]
)
def test_a_nul_client_id_is_an_invalid_request(metadata, endpoint):
    response = httpx.post(
        metadata[endpoint],
        content=b"grant_type=client_credentials&token=x&client_id=%00&client_secret=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("redirect_uri", ["http://127.0.0.1:65536/callback", "http://[::1"])
def test_unparseable_redirect_uris_get_an_error_page_when_signed_in(
    metadata, browser, redirect_uri
):
    http, _ = browser
    response = http.get(
        metadata["authorization_endpoint"],
        params={
            "response_type": "code",
            "client_id": "limen-cli",
            "redirect_uri": redirect_uri,
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
        },
    )
    assert response.status_code == 400 and "Location" not in response.headers


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:65536/cb", "http://[::1", "https://[::1/cb", "http://127.0.0.1:x/cb"]
)
def test_unparseable_redirect_uris_are_refused_at_registration(server, admin_headers, uri):
    response = httpx.post(
        f"{server.url}/api/v1/clients",
        json={"name": "x", "grant_types": ["authorization_code"], "redirect_uris": [uri]},
        headers=admin_headers,
    )
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "application/problem+json"


def test_nul_in_json_text_is_a_validation_error_not_a_database_error(api, server):
    response = api.http.post(
        "/auth/register",
        json={
            "email": "nul@example.com",
            "password": "long enough password",
            "display_name": "a\x00b",
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith("validation-error")


@pytest.mark.parametrize("field", ["nonce", "code_challenge", "state"])
def test_nul_in_an_authorization_request_is_an_error_page(metadata, browser, field):
    http, _ = browser
    params = {
        "response_type": "code",
        "client_id": "limen-cli",
        "redirect_uri": "http://127.0.0.1:45678/callback",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
        field: "a\x00b",
    }
    response = http.get(metadata["authorization_endpoint"], params=params)
    assert response.status_code == 400 and "Location" not in response.headers


@pytest.mark.parametrize("path", ["/", "/device", "/keys"])
def test_a_portal_page_with_a_non_bearer_authorization_header_asks_to_sign_in(server, path):
    response = httpx.get(f"{server.url}{path}", headers={"Authorization": "Basic"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
