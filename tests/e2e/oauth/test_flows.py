"""Every grant end to end over real HTTP, driven by Authlib's *client* (not the server's code),
with issued JWTs verified by joserfc against the published JWKS."""

from __future__ import annotations

import secrets
import time

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.browser import approve_device, follow_authorize

pytestmark = pytest.mark.both_backends  # uniqueness, concurrency and transactions differ

CLI_SCOPES = "openid profile email offline_access keys:read"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def verify_jwt(server, token: str, alg: str = "ES256", **expected):
    """The token's claims, verified with the published key of ``alg`` (ES256: access
    tokens; RS256: ID tokens of a client that registered no algorithm)."""
    keys = KeySet.import_key_set(httpx.get(f"{server.url}/oauth/jwks").json())
    decoded = jwt.decode(token, keys, algorithms=[alg])
    for claim, value in expected.items():
        assert decoded.claims[claim] == value, (claim, decoded.claims)
    return decoded


def test_discovery_is_complete_and_valid(server, metadata):
    AuthorizationServerMetadata(metadata).validate()
    assert metadata["issuer"] == server.env["LIMEN_ISSUER"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert set(metadata["grant_types_supported"]) >= {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        DEVICE_GRANT,
    }
    oidc = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    assert oidc == metadata
    for key in (
        "authorization_endpoint",
        "token_endpoint",
        "device_authorization_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
    ):
        assert metadata[key].startswith(server.env["LIMEN_ISSUER"] + "/oauth/")


def test_code_flow_with_pkce_and_a_loopback_redirect(server, metadata, browser, loopback):
    http, account = browser
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(12)
    with OAuth2Client(
        client_id="limen-cli",
        token_endpoint_auth_method="none",
        code_challenge_method="S256",
        redirect_uri=loopback.redirect_uri,
        scope=CLI_SCOPES,
    ) as client:
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        received = loopback.deliver(follow_authorize(http, url))
        assert received["state"] == state
        assert received["iss"] == metadata["issuer"]  # RFC 9207: mix-up defence
        token = client.fetch_token(
            metadata["token_endpoint"], code=received["code"], code_verifier=verifier
        )
    assert token["token_type"].lower() == "bearer" and token["refresh_token"]
    access = verify_jwt(
        server, token["access_token"], iss=metadata["issuer"], client_id="limen-cli"
    )
    assert access.header["typ"] == "at+jwt"
    assert set(access.claims["scope"].split()) >= {"openid", "profile", "keys:read"}
    id_token = verify_jwt(
        server, token["id_token"], "RS256", aud=["limen-cli"], nonce=nonce, email=account.email
    )
    assert "at_hash" in id_token.claims and "auth_time" in id_token.claims

    me = httpx.get(
        f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["client_id"] == "limen-cli" and me.json()["email"] == account.email
    info = httpx.get(
        metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert info.json()["sub"] == account.id and info.json()["email"] == account.email


def test_third_party_client_gets_a_consent_page(server, metadata, browser, make_client):
    app = make_client(
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=["https://app.example.com/cb"],
        scopes=["openid", "profile", "keys:read"],
    )
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    with OAuth2Client(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        code_challenge_method="S256",
        redirect_uri="https://app.example.com/cb",
        scope="openid keys:read",
    ) as client:
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier
        )
        consent = http.get(url)
        assert consent.status_code == 200 and app["name"] in consent.text
        assert "List your API keys" in consent.text
        location = follow_authorize(http, url)
        token = client.fetch_token(
            metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
    assert token["scope"].split() == ["keys:read", "openid"]
    assert "offline_access" not in token["scope"] and "refresh_token" not in token

    again = http.get(url, follow_redirects=False)  # the approval is remembered: no page
    assert again.status_code == 302 and "code=" in again.headers["Location"]

    wider = url.replace("scope=openid+keys%3Aread", "scope=openid+profile+keys%3Aread")
    assert wider != url  # a scope not yet allowed asks again, and may be denied
    denied = follow_authorize(http, wider, approve=False)
    assert "error=access_denied" in denied and f"state={state}" in denied
    assert "iss=" in denied


def test_device_flow_approved_through_the_device_page(server, metadata, browser):
    http, account = browser
    start = httpx.post(
        metadata["device_authorization_endpoint"],
        data={"client_id": "limen-cli", "scope": CLI_SCOPES},
    ).json()
    assert start["verification_uri"] == f"{metadata['issuer']}/device"
    assert len(start["user_code"]) == 9 and start["user_code"][4] == "-"

    def poll():
        return httpx.post(
            metadata["token_endpoint"],
            data={
                "grant_type": DEVICE_GRANT,
                "device_code": start["device_code"],
                "client_id": "limen-cli",
            },
        )

    assert poll().json()["error"] == "authorization_pending"
    assert poll().json()["error"] == "slow_down"  # polled again at once

    # The person types the code in lower case, without the hyphen.
    done = approve_device(http, server.url, start["user_code"].replace("-", "").lower())
    assert done.status_code == 200 and "signed in" in done.text

    time.sleep(start["interval"] + 5.5)  # honour the interval, raised by slow_down
    token = poll()
    assert token.status_code == 200, token.text
    me = httpx.get(
        f"{server.url}/api/v1/me",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert me.json()["email"] == account.email
    again = poll()
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_device_flow_denied(server, metadata, browser):
    http, _ = browser
    start = httpx.post(
        metadata["device_authorization_endpoint"], data={"client_id": "limen-cli"}
    ).json()
    page = approve_device(http, server.url, start["user_code"], approve=False)
    assert page.status_code == 200 and "Request denied" in page.text
    denied = httpx.post(
        metadata["token_endpoint"],
        data={
            "grant_type": DEVICE_GRANT,
            "device_code": start["device_code"],
            "client_id": "limen-cli",
        },
    )
    assert denied.json()["error"] == "access_denied"


def test_client_credentials_basic_and_post(server, metadata, make_client):
    app = make_client(grant_types=["client_credentials"], scopes=["profile", "keys:read"])
    for method in ("client_secret_basic", "client_secret_post"):
        with OAuth2Client(
            app["client_id"], app["client_secret"], token_endpoint_auth_method=method
        ) as client:
            token = client.fetch_token(
                metadata["token_endpoint"], grant_type="client_credentials", scope="profile"
            )
        assert "refresh_token" not in token
        verify_jwt(
            server,
            token["access_token"],
            sub=app["client_id"],
            client_id=app["client_id"],
            scope="profile",
        )
        me = httpx.get(
            f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        assert me.status_code == 200 and me.json()["auth_method"] == "client_credentials"


def test_client_secret_rotation_keeps_the_old_secret_for_the_overlap(
    server, metadata, make_client, admin_headers
):
    app = make_client(grant_types=["client_credentials"], scopes=["profile"])
    rotated = httpx.post(
        f"{server.url}/api/v1/clients/{app['client_id']}/rotate-secret",
        json={"overlap_seconds": 2},
        headers=admin_headers,
    ).json()

    def grant(secret):
        return httpx.post(
            metadata["token_endpoint"],
            data={"grant_type": "client_credentials"},
            auth=(app["client_id"], secret),
        )

    assert grant(app["client_secret"]).status_code == 200
    assert grant(rotated["client_secret"]).status_code == 200
    time.sleep(2.5)
    assert grant(app["client_secret"]).json()["error"] == "invalid_client"
    assert grant(rotated["client_secret"]).status_code == 200


def claims_of(token: str) -> dict:
    body = token.split(".")[1]
    import base64
    import json

    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_client_credentials_share_a_service_session_that_dies_with_the_client(
    deployment, metadata, make_client, admin_headers
):
    """Grants reuse one session per client and scopes (no row per grant); a secret rotated
    with no overlap and a deleted client are refused at once on every node, cached or not."""
    second = deployment[1]
    app = make_client(grant_types=["client_credentials"], scopes=["profile"])

    def grant(secret: str) -> httpx.Response:
        return httpx.post(
            metadata["token_endpoint"],
            data={"grant_type": "client_credentials", "scope": "profile"},
            auth=(app["client_id"], secret),
        )

    tokens = [grant(app["client_secret"]).json()["access_token"] for _ in range(3)]
    assert len({claims_of(t)["sid"] for t in tokens}) == 1
    assert len({claims_of(t)["jti"] for t in tokens}) == 3
    for node in deployment:
        for token in tokens:
            me = httpx.get(f"{node.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200

    rotated = httpx.post(
        f"{second.url}/api/v1/clients/{app['client_id']}/rotate-secret",
        json={"overlap_seconds": 0},
        headers=admin_headers,
    )
    assert rotated.status_code == 201, rotated.text
    assert grant(app["client_secret"]).json()["error"] == "invalid_client"
    secret = rotated.json()["client_secret"]
    assert grant(secret).status_code == 200

    deleted = httpx.delete(f"{second.url}/api/v1/clients/{app['client_id']}", headers=admin_headers)
    assert deleted.status_code == 204, deleted.text
    assert grant(secret).json()["error"] == "invalid_client"
    for node in deployment:
        for token in tokens:
            me = httpx.get(f"{node.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 401 and me.json()["cause"] == "revoked_session"


def test_refresh_rotation_reuse_and_revocation_then_introspection(
    server, metadata, browser, loopback, make_client
):
    http, _ = browser
    resource_server = make_client(grant_types=["client_credentials"], introspect=True)
    verifier = secrets.token_urlsafe(48)
    with OAuth2Client(
        client_id="limen-cli",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        redirect_uri=loopback.redirect_uri,
        scope="profile offline_access",
    ) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier
        )
        code = loopback.deliver(follow_authorize(http, url))["code"]
        first = client.fetch_token(metadata["token_endpoint"], code=code, code_verifier=verifier)
        second = client.refresh_token(
            metadata["token_endpoint"], refresh_token=first["refresh_token"]
        )
    assert second["refresh_token"] != first["refresh_token"]

    def introspect(token):
        return httpx.post(
            metadata["introspection_endpoint"],
            data={"token": token},
            auth=(resource_server["client_id"], resource_server["client_secret"]),
        ).json()

    assert introspect(second["access_token"])["active"] is True
    assert introspect(second["refresh_token"])["active"] is True
    revoked = httpx.post(
        metadata["revocation_endpoint"],
        data={
            "token": second["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": "limen-cli",
        },
    )
    assert revoked.status_code == 200
    assert introspect(second["access_token"]) == {"active": False}
    assert introspect(second["refresh_token"]) == {"active": False}
    assert (
        httpx.get(
            f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {second['access_token']}"}
        ).status_code
        == 401
    )


def test_public_clients_cannot_introspect(server, metadata):
    response = httpx.post(
        metadata["introspection_endpoint"], data={"token": "x", "client_id": "limen-cli"}
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_clients_register_a_backchannel_logout_uri(server, metadata, make_client, admin_headers):
    assert metadata["backchannel_logout_supported"] is True
    app = make_client(
        grant_types=["client_credentials"], backchannel_logout_uri="https://app.example.com/logout"
    )
    assert app["backchannel_logout_uri"] == "https://app.example.com/logout"
    before = httpx.get(f"{server.url}/api/v1/clients", headers=admin_headers).json()["items"]
    refused = httpx.post(
        f"{server.url}/api/v1/clients",
        headers=admin_headers,
        json={
            "name": "bad",
            "grant_types": ["client_credentials"],
            "backchannel_logout_uri": "http://app.example.com/logout",
        },
    )
    assert refused.status_code == 422 and "https" in refused.json()["detail"]
    after = httpx.get(f"{server.url}/api/v1/clients", headers=admin_headers).json()["items"]
    assert len(after) == len(before)
