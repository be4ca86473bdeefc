"""Finding 3: introspection tells a client only about tokens issued to it or meant for it,
unless an admin gave it the introspect right (a resource server); else {"active": false}
(RFC 7662 §4)."""

from __future__ import annotations

import httpx
import pytest


def service_token(metadata, app) -> str:
    response = httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def introspect(metadata, app, token: str) -> dict:
    response = httpx.post(
        metadata["introspection_endpoint"],
        data={"token": token},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def tokens_of_others(api, server, admin_headers, make_client, metadata) -> dict[str, str]:
    account = api.register()
    login = api.login(account)
    key = httpx.post(
        f"{server.url}/api/v1/api-keys",
        json={"name": "k", "scopes": ["profile"]},
        headers=api.bearer(login["access_token"]),
    ).json()["key"]
    other = make_client(grant_types=["client_credentials"], scopes=["profile"])
    return {
        "portal access token": login["access_token"],
        "portal refresh token": login["refresh_token"],
        "api key": key,
        "another client's token": service_token(metadata, other),
    }


def test_a_client_learns_nothing_about_other_tokens(metadata, make_client, tokens_of_others):
    nosy = make_client(grant_types=["client_credentials"], scopes=["profile"])
    for kind, token in tokens_of_others.items():
        assert introspect(metadata, nosy, token) == {"active": False}, kind


def test_a_client_introspects_its_own_tokens(metadata, make_client):
    app = make_client(grant_types=["client_credentials"], scopes=["profile"])
    answer = introspect(metadata, app, service_token(metadata, app))
    assert answer["active"] is True and answer["client_id"] == app["client_id"]


def test_a_resource_server_with_the_introspect_right_sees_every_token(
    metadata, make_client, tokens_of_others
):
    resource_server = make_client(grant_types=["client_credentials"], introspect=True)
    assert resource_server["introspect"] is True
    for kind, token in tokens_of_others.items():
        assert introspect(metadata, resource_server, token)["active"] is True, kind
