"""OpenID Connect conformance details over real HTTP with Authlib's client: unknown scope
values ignored and known ones the client lacks refused, unsigned request objects and remote
request_uris refused, prompt=consent, an unknown device_code, and discovery saying exactly
what is supported."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from tests.support.browser import follow_authorize, sign_in

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


def test_a_known_scope_the_client_is_not_registered_for_is_invalid_scope(
    server, metadata, browser, make_client
):
    http, _ = browser
    app = make_client(
        grant_types=["authorization_code", "client_credentials", "device_code"],
        redirect_uris=[REDIRECT],
        scopes=["openid", "profile"],
    )
    with OAuth2Client(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        redirect_uri=REDIRECT,
        scope="openid users:write",
        code_challenge_method="S256",
    ) as client:
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier="v" * 43
        )
    answer = http.get(url)  # signed in: refused before any consent page, no code
    assert answer.status_code == 302 and answer.headers["Location"].startswith(REDIRECT)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["invalid_scope"] and query["state"] == [state]
    assert "users:write" in query["error_description"][0] and "code" not in query

    auth = (app["client_id"], app["client_secret"])
    for endpoint, data in (
        (metadata["token_endpoint"], {"grant_type": "client_credentials", "scope": "keys:read"}),
        (metadata["device_authorization_endpoint"], {"scope": "openid jobs:write"}),
    ):
        refused = httpx.post(endpoint, data=data, auth=auth)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "invalid_scope", refused.text
    granted = httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": "client_credentials", "scope": "profile no-such-scope"},
        auth=auth,
    )
    assert granted.status_code == 200 and granted.json()["scope"] == "profile"


@pytest.mark.parametrize(
    ("param", "error"),
    [("request", "invalid_request_object"), ("request_uri", "request_uri_not_supported")],
)
def test_unsigned_or_remote_request_objects_are_refused(server, metadata, browser, param, error):
    """An unsigned request object is refused (test_jar_par covers signed ones); a request_uri
    Limen did not hand out (PAR) is not fetched."""
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
    assert metadata["request_parameter_supported"] is True  # signed (RFC 9101)
    assert metadata["request_uri_parameter_supported"] is False  # true when absent; PAR only
    assert metadata["claims_parameter_supported"] is False
    assert metadata["acr_values_supported"] == ["urn:limen:acr:1fa", "urn:limen:acr:2fa"]
    assert metadata["prompt_values_supported"] == ["none", "login", "consent"]
    assert {"auth_time", "amr", "acr"} <= set(metadata["claims_supported"])


def test_userinfo_takes_bearer_tokens_only(server, metadata, browser):
    http, account = browser
    by_cookie = http.get(metadata["userinfo_endpoint"])  # the portal cookie, signed in
    assert by_cookie.status_code == 401
    assert 'error="invalid_token"' in by_cookie.headers["WWW-Authenticate"]
    assert account.email not in by_cookie.text
    verifier = secrets.token_urlsafe(48)
    with cli_client("openid email") as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier
        )
        token = client.fetch_token(
            metadata["token_endpoint"],
            authorization_response=follow_authorize(http, url),
            code_verifier=verifier,
        )
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(metadata["userinfo_endpoint"], headers=bearer).json()["email"] == account.email


def test_introspection_says_when_a_token_was_issued(metadata, make_client):
    app = make_client(grant_types=["client_credentials"], scopes=["profile"])
    auth = (app["client_id"], app["client_secret"])
    token = httpx.post(
        metadata["token_endpoint"], data={"grant_type": "client_credentials"}, auth=auth
    ).json()["access_token"]
    answer = httpx.post(metadata["introspection_endpoint"], data={"token": token}, auth=auth)
    body = answer.json()
    assert body["active"] is True and isinstance(body["iat"], int)
    assert body["exp"] - body["iat"] == 600  # LIMEN_ACCESS_TOKEN_TTL


def test_prompt_none_checks_the_id_token_hint(server, metadata, browser, api):
    http, _ = browser

    def code_with(**params: str) -> dict[str, list[str]]:
        verifier = secrets.token_urlsafe(48)
        with cli_client("openid") as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"], code_verifier=verifier, **params
            )
            location = http.get(url).headers["Location"]
            if "code=" in location and "prompt" not in params:
                token = client.fetch_token(
                    metadata["token_endpoint"],
                    authorization_response=location,
                    code_verifier=verifier,
                )
                return {"id_token": [token["id_token"]]}
        return parse_qs(urlsplit(location).query)

    own = code_with()["id_token"][0]
    assert "code" in code_with(prompt="none", id_token_hint=own)
    other = api.register()
    with httpx.Client(timeout=30) as someone_else:
        sign_in(someone_else, server.url, other.email, other.password)
        verifier = secrets.token_urlsafe(48)
        with cli_client("openid") as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"], code_verifier=verifier
            )
            theirs = client.fetch_token(
                metadata["token_endpoint"],
                authorization_response=follow_authorize(someone_else, url),
                code_verifier=verifier,
            )["id_token"]
    for hint in (theirs, own[:-4] + "AAAA", "garbage"):
        answer = code_with(prompt="none", id_token_hint=hint, state="h")
        assert answer["error"] == ["login_required"] and answer["state"] == ["h"]
