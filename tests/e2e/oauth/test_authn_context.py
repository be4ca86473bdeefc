"""The authentication context over real HTTP, with Authlib's client as the relying party:
auth_time / amr / acr in ID and access tokens, prompt=login, max_age, acr_values, and the
device grant inheriting the approving session's sign-in (OIDC Core §3.1.2.1, RFC 8176)."""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.browser import approve_device, csrf_from, follow_authorize

from .test_flows import DEVICE_GRANT

REDIRECT = "http://127.0.0.1:9/callback"  # the CLI's loopback redirect; never delivered
ONE_FACTOR = "urn:limen:acr:1fa"
SCOPE = "openid profile offline_access"


def claims_of(server, token: str) -> dict:
    """Verified claims of an access token (ES256) or an ID token (RS256, the default)."""
    keys = KeySet.import_key_set(httpx.get(f"{server.url}/oauth/jwks").json())
    return dict(jwt.decode(token, keys, algorithms=["ES256", "RS256"]).claims)


def rp(**extra) -> OAuth2Client:
    return OAuth2Client(
        client_id="limen-cli",
        token_endpoint_auth_method="none",
        code_challenge_method="S256",
        redirect_uri=REDIRECT,
        scope=SCOPE,
        **extra,
    )


def authorize_url(client: OAuth2Client, metadata, verifier: str, **params: str) -> str:
    url, _ = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, **params
    )
    return str(url)


def code_flow(server, metadata, http: httpx.Client, **params: str) -> dict:
    """The whole code flow as the signed-in browser ``http``; the token response."""
    verifier = secrets.token_urlsafe(48)
    with rp() as client:
        location = follow_authorize(http, authorize_url(client, metadata, verifier, **params))
        return dict(
            client.fetch_token(
                metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
            )
        )


def sign_in_again(server, http: httpx.Client, login_location: str, account) -> httpx.Response:
    """Answer the sign-in page the authorize endpoint sent the browser to; the response is
    the way back to the authorization request."""
    page = http.get(server.url + login_location)
    assert page.status_code == 200 and "sign in again" in page.text
    target = parse_qs(urlsplit(login_location).query)["next"][0]
    return http.post(
        f"{server.url}/login",
        data={
            "email": account.email,
            "password": account.password,
            "next": target,
            "csrf_token": csrf_from(page.text),
        },
    )


def test_tokens_carry_how_the_person_signed_in(server, metadata, browser):
    http, _ = browser
    me = http.get(f"{server.url}/api/v1/me").json()  # the portal session the browser holds
    assert (me["amr"], me["acr"]) == (["pwd"], ONE_FACTOR)
    signed_in_at = me["auth_time"]
    assert abs(signed_in_at - time.time()) < 60

    token = code_flow(server, metadata, http, nonce=secrets.token_urlsafe(8))
    id_claims = claims_of(server, token["id_token"])
    access = claims_of(server, token["access_token"])
    for claims in (id_claims, access):
        assert claims["amr"] == ["pwd"]  # a JSON array of RFC 8176 values
        assert claims["acr"] == ONE_FACTOR
        assert claims["auth_time"] == signed_in_at  # the sign-in, not the token's issue
    assert access["auth_method"] == "authorization_code"

    time.sleep(1.1)
    with rp(token=token) as client:
        refreshed = client.refresh_token(metadata["token_endpoint"])
    again = claims_of(server, refreshed["access_token"])
    assert (again["amr"], again["auth_time"]) == (["pwd"], signed_in_at)  # not a sign-in
    assert again["iat"] > access["iat"]


def test_prompt_login_asks_a_signed_in_person_to_sign_in_again(server, metadata, browser):
    http, account = browser
    first = http.get(f"{server.url}/api/v1/me").json()["auth_time"]
    time.sleep(1.1)
    verifier = secrets.token_urlsafe(48)
    with rp() as client:
        url = authorize_url(client, metadata, verifier, prompt="login")
        asked = http.get(url)
        assert asked.status_code == 302 and asked.headers["Location"].startswith("/login?")
        back = sign_in_again(server, http, asked.headers["Location"], account)
        assert back.status_code == 303
        target = back.headers["Location"]
        assert "prompt=login" not in target and "limen_signed_in_after=" in target
        location = follow_authorize(http, server.url + target)
        token = client.fetch_token(
            metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
    assert claims_of(server, token["id_token"])["auth_time"] > first


def test_max_age_is_honoured(server, metadata, browser):
    http, account = browser
    signed_in_at = http.get(f"{server.url}/api/v1/me").json()["auth_time"]
    token = code_flow(server, metadata, http, max_age="3600")  # recent enough: no page
    assert claims_of(server, token["id_token"])["auth_time"] == signed_in_at

    time.sleep(1.1)
    verifier = secrets.token_urlsafe(48)
    with rp() as client:
        asked = http.get(authorize_url(client, metadata, verifier, max_age="0"))
        assert asked.status_code == 302 and asked.headers["Location"].startswith("/login?")
        back = sign_in_again(server, http, asked.headers["Location"], account)
        location = follow_authorize(http, server.url + back.headers["Location"])
        token = client.fetch_token(
            metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
    assert claims_of(server, token["id_token"])["auth_time"] > signed_in_at


def test_prompt_none_that_needs_a_sign_in_is_login_required(server, metadata, browser):
    http, _ = browser
    time.sleep(1.1)
    before = http.get(f"{server.url}/api/v1/me").json()
    verifier = secrets.token_urlsafe(48)
    with rp() as client:
        for params in ({"max_age": "0"}, {"max_age": "0", "acr_values": ONE_FACTOR}):
            url = authorize_url(client, metadata, verifier, prompt="none", state="st-1", **params)
            answer = http.get(url)
            assert answer.status_code == 302
            query = parse_qs(urlsplit(answer.headers["Location"]).query)
            assert answer.headers["Location"].startswith(REDIRECT)
            assert query["error"] == ["login_required"] and query["state"] == ["st-1"]
        both = http.get(authorize_url(client, metadata, verifier, prompt="none login", state="s"))
        query = parse_qs(urlsplit(both.headers["Location"]).query)
        assert query["error"] == ["invalid_request"] and query["state"] == ["s"]
    assert http.get(f"{server.url}/api/v1/me").json() == before  # the session is untouched


def test_a_malformed_max_age_goes_back_to_the_client(server, metadata, browser):
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    with rp() as client:
        for value in ("-1", "soon", "1e3"):
            answer = http.get(authorize_url(client, metadata, verifier, max_age=value, state="x"))
            assert answer.status_code == 302
            query = parse_qs(urlsplit(answer.headers["Location"]).query)
            assert query["error"] == ["invalid_request"] and query["state"] == ["x"]
            assert "max_age" in query["error_description"][0]


def test_a_device_inherits_the_approving_sign_in(server, metadata, browser):
    http, _ = browser
    signed_in_at = http.get(f"{server.url}/api/v1/me").json()["auth_time"]
    start = httpx.post(
        metadata["device_authorization_endpoint"], data={"client_id": "limen-cli", "scope": SCOPE}
    ).json()
    time.sleep(1.1)  # approved later than the sign-in: auth_time stays the sign-in's
    assert approve_device(http, server.url, start["user_code"]).status_code == 200
    token = httpx.post(
        metadata["token_endpoint"],
        data={
            "grant_type": DEVICE_GRANT,
            "device_code": start["device_code"],
            "client_id": "limen-cli",
        },
    )
    assert token.status_code == 200, token.text
    claims = claims_of(server, token.json()["access_token"])
    assert (claims["amr"], claims["acr"]) == (["pwd"], ONE_FACTOR)
    assert claims["auth_time"] == signed_in_at


def test_services_and_first_party_logins_say_what_they_are(server, metadata, api, make_client):
    account = api.register()
    login = httpx.post(
        f"{server.url}/auth/login", json={"email": account.email, "password": account.password}
    ).json()
    me = httpx.get(
        f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {login['access_token']}"}
    ).json()
    assert (me["amr"], me["acr"], me["auth_method"]) == (["pwd"], ONE_FACTOR, "password")

    app = make_client(grant_types=["client_credentials"], scopes=["profile"])
    with OAuth2Client(app["client_id"], app["client_secret"]) as client:
        service = client.fetch_token(
            metadata["token_endpoint"], grant_type="client_credentials", scope="profile"
        )
    claims = claims_of(server, service["access_token"])
    assert not {"amr", "acr", "auth_time"} & set(claims)  # no person authenticated
