"""Findings 4 and 5: the whole authorization request is validated before anyone signs in, and
a confidential client's loopback redirect URI matches exactly (RFC 8252 §7.3's any-port rule
is for native public clients). Invalid client or redirect URI: an error page, never a redirect;
otherwise errors go back to the client with state and iss (RFC 6749 §4.1.2.1, RFC 7636 §4.4.1)."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.support.browser import follow_authorize

CLI_REDIRECT = "http://127.0.0.1:45678/callback"


def authorize(metadata, **params) -> str:
    base = {
        "response_type": "code",
        "client_id": "limen-cli",
        "redirect_uri": CLI_REDIRECT,
        "state": "st-1",
        "scope": "profile",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
    }
    base.update(params)
    query = urlencode({k: v for k, v in base.items() if v is not None})
    return f"{metadata['authorization_endpoint']}?{query}"


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "no-such-client"},
        {"client_id": "\x00"},
        {"redirect_uri": "https://evil.example.com/cb"},
        {"redirect_uri": "http://127.0.0.1:65536/callback"},
        {"redirect_uri": "http://[::1"},
    ],
    ids=["unknown client", "nul client", "unregistered uri", "port 65536", "broken ipv6"],
)
def test_invalid_client_or_redirect_gets_an_error_page_before_sign_in(metadata, params):
    response = httpx.get(authorize(metadata, **params))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "text/html" in response.headers["Content-Type"]


@pytest.mark.parametrize(
    "params",
    [
        {"code_challenge": None, "code_challenge_method": None},
        {"code_challenge_method": "plain"},
        {"response_type": "token"},
        {"scope": 'profile "quoted"'},
        {"request": "eyJhbGciOiJub25lIn0.e30."},
        {"request_uri": "https://rp.example/req/1"},
    ],
    ids=["missing pkce", "plain pkce", "implicit", "malformed scope", "request", "request_uri"],
)
def test_other_errors_go_back_to_the_client_before_sign_in(metadata, params):
    response = httpx.get(authorize(metadata, **params))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(CLI_REDIRECT)
    query = parse_qs(urlsplit(location).query)
    assert query["error"][0] in (
        "invalid_request",
        "unsupported_response_type",
        "invalid_scope",
        "invalid_request_object",
        "request_uri_not_supported",
    )
    assert query["state"] == ["st-1"] and query["iss"] == [metadata["issuer"]]


def test_prompt_none_without_a_session_is_login_required_at_the_client(metadata):
    response = httpx.get(authorize(metadata, scope="openid profile", prompt="none"))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["login_required"] and query["state"] == ["st-1"]


def test_a_valid_request_still_goes_to_sign_in(metadata):
    response = httpx.get(authorize(metadata))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_confidential_loopback_redirect_matches_exactly(metadata, make_client, browser):
    http, _ = browser
    app = make_client(
        grant_types=["authorization_code"],
        redirect_uris=["http://127.0.0.1/cb"],
        scopes=["profile"],
    )
    other_port = http.get(
        authorize(metadata, client_id=app["client_id"], redirect_uri="http://127.0.0.1:5555/cb")
    )
    assert other_port.status_code == 400 and "Location" not in other_port.headers
    exact = follow_authorize(
        http, authorize(metadata, client_id=app["client_id"], redirect_uri="http://127.0.0.1/cb")
    )
    assert exact.startswith("http://127.0.0.1/cb?code=")


def test_public_native_clients_keep_any_port(metadata, browser):
    http, _ = browser
    port = 40000 + secrets.randbelow(20000)
    location = follow_authorize(
        http, authorize(metadata, redirect_uri=f"http://127.0.0.1:{port}/callback")
    )
    assert location.startswith(f"http://127.0.0.1:{port}/callback?code=")
