"""RFC 9700 threats that apply to Limen, each refused: code replay, PKCE downgrade, redirect
tampering, open redirects, mix-up, client authentication failures, fast polling, expiry."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.support.browser import follow_authorize
from tests.support.db import execute

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def challenge(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def authorize_url(metadata, **params) -> str:
    base = {
        "response_type": "code",
        "client_id": "limen-cli",
        "state": "s-123",
        "redirect_uri": "http://127.0.0.1:45678/callback",
        "scope": "profile",
    }
    base.update(params)
    return (
        metadata["authorization_endpoint"]
        + "?"
        + urlencode({k: v for k, v in base.items() if v is not None})
    )


def get_code(http, metadata, verifier, **params) -> dict[str, str]:
    location = follow_authorize(
        http,
        authorize_url(
            metadata, code_challenge=challenge(verifier), code_challenge_method="S256", **params
        ),
    )
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(metadata, code, verifier=None, redirect_uri="http://127.0.0.1:45678/callback"):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "limen-cli",
        "redirect_uri": redirect_uri,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return httpx.post(metadata["token_endpoint"], data=data)


def test_code_replay_fails_and_revokes_the_first_tokens(server, metadata, browser):
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    code = get_code(http, metadata, verifier)["code"]
    first = exchange(metadata, code, verifier)
    assert first.status_code == 200
    replay = exchange(metadata, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    me = httpx.get(
        f"{server.url}/api/v1/me",
        headers={"Authorization": f"Bearer {first.json()['access_token']}"},
    )
    assert me.status_code == 401 and me.json()["cause"] == "revoked_session"
    refresh = httpx.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
            "client_id": "limen-cli",
        },
    )
    assert refresh.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "PKCE is required"),
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "S256"),
        ({"code_challenge": "x" * 43}, "S256"),
    ],
)
def test_pkce_missing_or_downgraded_at_authorization(metadata, browser, params, words):
    http, _ = browser
    location = http.get(authorize_url(metadata, **params)).headers["Location"]
    query_ = parse_qs(urlsplit(location).query)
    assert query_["error"] == ["invalid_request"] and words in query_["error_description"][0]
    assert query_["state"] == ["s-123"] and query_["iss"] == [metadata["issuer"]]


def test_missing_and_wrong_code_verifier(metadata, browser):
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    missing = exchange(metadata, get_code(http, metadata, verifier)["code"], None)
    assert missing.json()["error"] == "invalid_request"
    wrong = exchange(
        metadata, get_code(http, metadata, verifier)["code"], secrets.token_urlsafe(48)
    )
    assert wrong.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example.com/callback",
        "http://127.0.0.1:45678/other",
        "http://localhost:45678/callback",  # only loopback IP literals get any-port matching
        "http://127.0.0.1.evil.com/callback",
        "http://127.0.0.1:45678/callback#frag",
    ],
)
def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(
    metadata, browser, redirect_uri
):
    http, _ = browser
    response = http.get(
        authorize_url(
            metadata,
            redirect_uri=redirect_uri,
            code_challenge="x" * 43,
            code_challenge_method="S256",
        )
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "not valid" in response.text


def test_unknown_client_gets_an_error_page(metadata, browser):
    http, _ = browser
    response = http.get(authorize_url(metadata, client_id="nobody"))
    assert response.status_code == 400 and "Location" not in response.headers


def test_token_request_with_another_redirect_uri_is_refused(metadata, browser):
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    code = get_code(http, metadata, verifier)["code"]
    tampered = exchange(metadata, code, verifier, redirect_uri="http://127.0.0.1:9999/callback")
    assert tampered.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/",
        "//evil.example.com/x",
        "/\\evil.example.com",
        "javascript:alert(1)",
    ],
)
def test_sign_in_next_is_never_an_open_redirect(server, api, target):
    from tests.support.browser import csrf_from

    account = api.register()
    with httpx.Client() as http:
        page = http.get(f"{server.url}/login", params={"next": target})
        done = http.post(
            f"{server.url}/login",
            data={
                "email": account.email,
                "password": account.password,
                "next": target,
                "csrf_token": csrf_from(page.text),
            },
        )
    assert done.status_code == 303 and done.headers["Location"] == "/"


def test_unsigned_in_authorize_goes_to_sign_in_and_back(server, metadata, api):
    from tests.support.browser import csrf_from

    account = api.register()
    url = authorize_url(metadata, code_challenge="x" * 43, code_challenge_method="S256")
    with httpx.Client(base_url=server.url) as http:
        response = http.get(url)
        assert response.status_code == 302
        login_page = http.get(response.headers["Location"])
        assert login_page.status_code == 200
        next_path = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
        assert next_path.startswith("/oauth/authorize?")
        signed_in = http.post(
            "/login",
            data={
                "email": account.email,
                "password": account.password,
                "next": next_path,
                "csrf_token": csrf_from(login_page.text),
            },
        )
        assert signed_in.status_code == 303 and signed_in.headers["Location"] == next_path
        back = http.get(next_path)
    assert back.status_code == 302
    assert back.headers["Location"].startswith("http://127.0.0.1:45678/callback?code=")


def test_mix_up_defence_iss_on_success_and_error(metadata, browser):
    http, _ = browser
    ok = get_code(http, metadata, secrets.token_urlsafe(48))
    assert ok["iss"] == metadata["issuer"] and ok["state"] == "s-123"
    error = http.get(authorize_url(metadata, scope="nonsense")).headers["Location"]
    assert parse_qs(urlsplit(error).query)["iss"] == [metadata["issuer"]]


def test_client_authentication_failures(metadata, make_client):
    app = make_client(grant_types=["client_credentials"], scopes=["profile"])
    cases = [
        ((app["client_id"], "wrong-secret"), {}),
        (("no-such-client", "x"), {}),
        (None, {"client_id": app["client_id"]}),  # no secret at all
        (None, {"client_id": app["client_id"], "client_secret": "nope"}),
    ]
    for auth, extra in cases:
        response = httpx.post(
            metadata["token_endpoint"],
            data={"grant_type": "client_credentials", **extra},
            auth=auth,
        )
        # RFC 6749 §5.2: invalid_client; a failed Authorization header MUST get a 401 with
        # WWW-Authenticate naming the scheme.
        assert response.status_code == 401, (auth, extra, response.text)
        assert response.json()["error"] == "invalid_client", (auth, extra, response.text)
        if auth:
            assert response.headers["WWW-Authenticate"].startswith("Basic")
    public = httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": "client_credentials", "client_id": "limen-cli"},
    )
    # A public client cannot authenticate, and client_credentials needs an authenticated client.
    assert (public.status_code, public.json()["error"]) == (401, "invalid_client")


def test_device_code_polled_too_fast_and_expired(server, metadata):
    start = httpx.post(
        metadata["device_authorization_endpoint"], data={"client_id": "limen-cli"}
    ).json()

    def poll():
        return httpx.post(
            metadata["token_endpoint"],
            data={
                "grant_type": DEVICE_GRANT,
                "device_code": start["device_code"],
                "client_id": "limen-cli",
            },
        ).json()

    assert poll()["error"] == "authorization_pending"
    assert poll()["error"] == "slow_down"
    # Expire it (the database is the clock's only witness here).
    execute(
        server.env["LIMEN_DATABASE_URL"],
        "UPDATE oauth_device_codes SET expires_at = created_at WHERE user_code = :c",
        c=start["user_code"],
    )
    assert poll()["error"] == "expired_token"


def test_expired_authorization_code(server, metadata, browser):
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    code = get_code(http, metadata, verifier)["code"]
    execute(
        server.env["LIMEN_DATABASE_URL"],
        "UPDATE oauth_authorization_codes SET expires_at = created_at "
        "WHERE expires_at > created_at",
    )
    assert exchange(metadata, code, verifier).json()["error"] == "invalid_grant"


def test_token_responses_are_not_cached(metadata, make_client):
    app = make_client(grant_types=["client_credentials"])
    response = httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert response.headers["Cache-Control"] == "no-store"


def test_oauth_refresh_reuse_revokes_the_session(server, metadata, browser):
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    code = get_code(http, metadata, verifier, scope="profile offline_access")["code"]
    first = exchange(metadata, code, verifier).json()

    def refresh(token):
        return httpx.post(
            metadata["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": token, "client_id": "limen-cli"},
        )

    second = refresh(first["refresh_token"]).json()
    third = refresh(second["refresh_token"]).json()
    reused = refresh(first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert "already used" in reused.json()["error_description"]
    assert refresh(third["refresh_token"]).json()["error"] == "invalid_grant"
    me = httpx.get(
        f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {third['access_token']}"}
    )
    assert me.status_code == 401


def test_refresh_token_of_another_client_is_refused(server, metadata, browser, make_client):
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    code = get_code(http, metadata, verifier, scope="profile offline_access")["code"]
    token = exchange(metadata, code, verifier).json()
    other = make_client(grant_types=["client_credentials", "refresh_token"])
    stolen = httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(other["client_id"], other["client_secret"]),
    )
    assert stolen.json()["error"] == "invalid_grant"


def test_client_authentication_failure_says_what_to_check(metadata, make_client):
    app = make_client(grant_types=["client_credentials"])
    response = httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=(app["client_id"], "wrong"),
    )
    assert response.status_code == 401
    assert "the secret is wrong" in response.json()["error_description"]
