"""OpenID Connect conformance details over real HTTP with Authlib's client: unknown scope
values ignored, request objects refused as unsupported, prompt=consent, an unknown
device_code, and discovery saying exactly what is supported."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from tests.support.browser import follow_authorize

from .test_flows import DEVICE_GRANT

REDIRECT = "http://127.0.0.1:9/callback"


def cli_client(scope: str) -> OAuth2Client:
    return OAuth2Client(
        client_id="limen-cli",
        token_endpoint_auth_method="none",
        code_challenge_method="S256",
        redirect_uri=REDIRECT,
        scope=scope,
    )


def test_unknown_scope_values_are_ignored(server, metadata, browser):
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    with cli_client("openid no-such-scope profile urn:other:thing") as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier
        )
        location = follow_authorize(http, url)
        token = client.fetch_token(
            metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
    assert sorted(token["scope"].split()) == ["openid", "profile"]


@pytest.mark.parametrize(
    ("param", "error"),
    [("request", "request_not_supported"), ("request_uri", "request_uri_not_supported")],
)
def test_request_objects_are_refused_as_unsupported(server, metadata, browser, param, error):
    http, _ = browser
    value = (
        "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9."
        if param == "request"
        else ("https://rp.example/request/1")
    )
    with cli_client("openid") as client:
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier="v" * 43, **{param: value}
        )
    answer = http.get(url)  # signed in: still refused, no code
    assert answer.status_code == 302 and answer.headers["Location"].startswith(REDIRECT)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == [error] and query["state"] == [state]
    assert "code" not in query


def test_prompt_consent_asks_again_though_remembered(server, metadata, browser, make_client):
    app = make_client(
        grant_types=["authorization_code"],
        redirect_uris=["https://app.example.com/cb"],
        scopes=["openid", "profile"],
    )
    http, _ = browser
    with OAuth2Client(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        code_challenge_method="S256",
        redirect_uri="https://app.example.com/cb",
        scope="openid profile",
    ) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier="v" * 43
        )
        assert "code=" in follow_authorize(http, url)  # approved once: remembered
        assert http.get(url).status_code == 302
        asked, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier="v" * 43, prompt="consent"
        )
    page = http.get(asked)
    assert page.status_code == 200 and 'name="decision"' in page.text


@pytest.mark.parametrize("device_code", ["no-such-code", "x" * 300, ""])
def test_an_unknown_device_code_is_invalid_grant(metadata, device_code):
    answer = httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": "limen-cli"},
    )
    assert answer.status_code == 400
    expected = "invalid_request" if not device_code else "invalid_grant"  # missing: malformed
    assert answer.json()["error"] == expected


def test_discovery_says_exactly_what_is_supported(metadata):
    assert metadata["request_parameter_supported"] is False
    assert metadata["request_uri_parameter_supported"] is False  # true when absent
    assert metadata["claims_parameter_supported"] is False
    assert metadata["acr_values_supported"] == ["urn:limen:acr:1fa", "urn:limen:acr:2fa"]
    assert metadata["prompt_values_supported"] == ["none", "login", "consent"]
    assert {"auth_time", "amr", "acr"} <= set(metadata["claims_supported"])
