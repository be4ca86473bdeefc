"""Finding 1: a credential hands on only what it holds itself (its scopes within its subject's
roles), on every path that issues a credential: API keys, OAuth grants, refresh, clients."""

from __future__ import annotations

import httpx

from tests.support.browser import approve_device, sign_in
from tests.support.factories import PASSWORD, create_user

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def new_key(server, headers, scopes, **extra) -> dict:
    response = httpx.post(
        f"{server.url}/api/v1/api-keys",
        json={"name": "k", "scopes": scopes, **extra},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def as_key(key: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['key']}"}


def test_an_api_key_cannot_create_a_key_with_scopes_it_lacks(server, admin_headers):
    narrow = new_key(server, admin_headers, ["keys:write"])
    attempt = httpx.post(
        f"{server.url}/api/v1/api-keys",
        json={"name": "escalate", "scopes": ["users:write"]},
        headers=as_key(narrow),
    )
    assert attempt.status_code == 403
    assert attempt.headers["Content-Type"] == "application/problem+json"
    assert "users:write" in attempt.json()["detail"]
    assert new_key(server, as_key(narrow), ["keys:write"])["scopes"] == ["keys:write"]


def test_a_third_party_apps_token_cannot_create_an_admin_key(
    server, admin_browser, third_party_tokens
):
    _, token = third_party_tokens(admin_browser, ["openid", "keys:write"])
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    for scopes in (["users:write"], ["clients:write"], ["signing-keys:write"], ["profile"]):
        attempt = httpx.post(
            f"{server.url}/api/v1/api-keys", json={"name": "x", "scopes": scopes}, headers=headers
        )
        assert attempt.status_code == 403, (scopes, attempt.text)
    assert new_key(server, headers, ["keys:write"])["scopes"] == ["keys:write"]


def test_a_narrow_key_cannot_rotate_or_collect_a_wider_key(server, admin_headers):
    wide = new_key(server, admin_headers, ["users:read", "keys:read"])
    narrow = new_key(server, admin_headers, ["keys:write"])
    for action in ("rotate", "collect"):
        attempt = httpx.post(
            f"{server.url}/api/v1/api-keys/{wide['id']}/{action}", json={}, headers=as_key(narrow)
        )
        assert attempt.status_code == 403, (action, attempt.text)
        assert "users:read" in attempt.json()["detail"]
    listed = httpx.get(f"{server.url}/api/v1/api-keys", headers=admin_headers).json()["items"]
    assert next(k for k in listed if k["id"] == wide["id"])["status"] == "active"


def test_a_clients_write_key_cannot_register_a_client_with_more(server, admin_headers):
    key = new_key(server, admin_headers, ["clients:write"])
    url = f"{server.url}/api/v1/clients"
    body = {"name": "svc", "grant_types": ["client_credentials"]}
    wider = httpx.post(url, json={**body, "scopes": ["users:write"]}, headers=as_key(key))
    assert wider.status_code == 403 and "users:write" in wider.json()["detail"]
    spy = httpx.post(url, json={**body, "introspect": True}, headers=as_key(key))
    assert spy.status_code == 403 and "users:read" in spy.json()["detail"]
    held = httpx.post(url, json={**body, "scopes": ["clients:write"]}, headers=as_key(key))
    assert held.status_code == 201, held.text


def test_a_clients_write_key_cannot_take_over_a_wider_clients_secret(
    server, admin_headers, make_client
):
    wide = make_client(grant_types=["client_credentials"], scopes=["users:write"])
    key = new_key(server, admin_headers, ["clients:write"])
    for action in ("rotate-secret", "collect-secret"):
        attempt = httpx.post(
            f"{server.url}/api/v1/clients/{wide['client_id']}/{action}",
            json={},
            headers=as_key(key),
        )
        assert attempt.status_code == 403, (action, attempt.text)
    token = httpx.post(
        f"{server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(wide["client_id"], wide["client_secret"]),
    )
    assert token.status_code == 200  # the secret was not rotated away


def test_refresh_never_widens_the_scope(server, metadata, admin_browser, third_party_tokens):
    app, token = third_party_tokens(admin_browser, ["openid", "profile", "offline_access"])

    def refresh(scope: str) -> httpx.Response:
        return httpx.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": token["refresh_token"],
                "scope": scope,
            },
            auth=(app["client_id"], app["client_secret"]),
        )

    wider = refresh("profile users:write")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    narrower = refresh("profile")
    assert narrower.status_code == 200, narrower.text
    assert narrower.json()["scope"] == "profile"


def test_a_session_restricted_to_mfa_setup_cannot_approve_more(strict_node):
    node = strict_node  # analysts must set up two-step verification: 'profile' only till then
    start = httpx.post(
        f"{node.url}/oauth/device_authorization",
        data={"client_id": "limen-cli", "scope": "profile keys:write sessions:write"},
    ).json()
    with httpx.Client(timeout=30, headers={"X-Forwarded-For": "192.0.2.7"}) as http:
        sign_in(http, node.url, create_user(node), PASSWORD)
        approve_device(http, node.url, start["user_code"])
    token = httpx.post(
        f"{node.url}/oauth/token",
        data={
            "grant_type": DEVICE_GRANT,
            "device_code": start["device_code"],
            "client_id": "limen-cli",
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "profile"


def test_a_users_write_key_cannot_make_anyone_an_admin(server, api, admin_headers):
    key = new_key(server, admin_headers, ["users:write", "users:read"])
    target = api.register()
    promote = httpx.patch(
        f"{server.url}/api/v1/users/{target.id}", json={"roles": ["admin"]}, headers=as_key(key)
    )
    assert promote.status_code == 403, promote.text
    # Role changes need a person's fresh sign-in (step-up): no API key makes them at all.
    assert promote.json()["type"] == "urn:limen:problem:person-required"
    roles = httpx.get(f"{server.url}/api/v1/users/{target.id}", headers=admin_headers).json()
    assert roles["roles"] == ["analyst"]
