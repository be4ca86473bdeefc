"""Lifetimes walked in real time on a node with short settings, no clock moved and no row
back-dated: each credential works across its rotation and dies at its real end."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.factories import Api, bearer_for, create_user
from tests.support.live import LiveServer

LEEWAY = 5  # seconds of clock skew an access token is allowed past its exp


@pytest.fixture(scope="module")
def node(make_database, start_server) -> LiveServer:
    """Access tokens live 10 s here (the shortest the settings allow)."""
    return start_server(make_database("sqlite"), LIMEN_ACCESS_TOKEN_TTL="10")


def me(node: LiveServer, **headers: str) -> httpx.Response:
    return httpx.get(f"{node.url}/api/v1/me", headers=headers)


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def test_an_access_token_outlives_a_refresh_and_dies_at_its_real_expiry(node):
    with Api(node.url) as api:
        first = api.login(api.register())
        sleep_until(first["expires_at"] - 2)
        refreshed = api.http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        second = refreshed.json()
    assert me(node, Authorization=f"Bearer {first['access_token']}").status_code == 200

    sleep_until(first["expires_at"] + LEEWAY + 1)
    dead = me(node, Authorization=f"Bearer {first['access_token']}")
    assert dead.status_code == 401 and dead.json()["cause"] == "expired"
    assert me(node, Authorization=f"Bearer {second['access_token']}").status_code == 200


def test_a_rotated_api_key_works_for_its_grace_then_only_the_successor(node):
    owner = bearer_for(node, create_user(node))
    body = {"name": "ci", "scopes": ["profile"]}
    old = httpx.post(f"{node.url}/api/v1/api-keys", json=body, headers=owner).json()
    rotated_at = time.time()
    new = httpx.post(
        f"{node.url}/api/v1/api-keys/{old['id']}/rotate",
        json={"grace_seconds": 3},
        headers=owner,
    ).json()
    assert me(node, **{"X-API-Key": old["key"]}).status_code == 200  # within the grace

    sleep_until(rotated_at + 4)
    dead = me(node, **{"X-API-Key": old["key"]})
    assert dead.status_code == 401 and dead.json()["cause"] == "rotated"
    assert me(node, **{"X-API-Key": new["key"]}).status_code == 200


def test_an_api_key_dies_at_its_expiry(node):
    owner = bearer_for(node, create_user(node))
    ends = datetime.now(UTC) + timedelta(seconds=3)
    body = {"name": "short", "scopes": ["profile"], "expires_at": ends.isoformat()}
    key = httpx.post(f"{node.url}/api/v1/api-keys", json=body, headers=owner).json()["key"]
    assert me(node, **{"X-API-Key": key}).status_code == 200

    sleep_until(ends.timestamp() + 1)
    dead = me(node, **{"X-API-Key": key})
    assert dead.status_code == 401 and dead.json()["cause"] == "expired"


def client_grant(node: LiveServer, client_id: str, secret: str) -> Any:
    return httpx.post(
        f"{node.url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "profile"},
        auth=(client_id, secret),
    )


def test_a_rotated_client_secret_works_for_its_overlap_then_only_the_new_one(node):
    admin = bearer_for(node, create_user(node, "admin"))
    body = {"name": "svc", "grant_types": ["client_credentials"], "scopes": ["profile"]}
    client = httpx.post(f"{node.url}/api/v1/clients", json=body, headers=admin).json()
    rotated_at = time.time()
    new = httpx.post(
        f"{node.url}/api/v1/clients/{client['client_id']}/rotate-secret",
        json={"overlap_seconds": 3},
        headers=admin,
    ).json()["client_secret"]
    assert client_grant(node, client["client_id"], client["client_secret"]).status_code == 200

    sleep_until(rotated_at + 4)
    assert client_grant(node, client["client_id"], client["client_secret"]).status_code == 401
    assert client_grant(node, client["client_id"], new).status_code == 200


def test_a_session_refreshes_until_its_real_end_then_its_refresh_token_dies(
    make_database, start_server
):
    """Refresh tokens (and the session they belong to) live 60 s here, the shortest allowed."""
    short = start_server(
        make_database("sqlite"), LIMEN_ACCESS_TOKEN_TTL="10", LIMEN_REFRESH_TOKEN_TTL="60"
    )
    with Api(short.url) as api:
        started = time.time()
        tokens = api.login(api.register())
        sleep_until(started + 30)
        rotated = api.http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert rotated.status_code == 200  # halfway: rotation works
        latest = rotated.json()

        sleep_until(started + 60 + 2)
        refused = api.http.post("/auth/refresh", json={"refresh_token": latest["refresh_token"]})
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
