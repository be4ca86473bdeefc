"""API keys over real HTTP: created once, used two ways, bounded, rotated, revoked."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.db import scalar
from tests.support.factories import Api

pytestmark = pytest.mark.both_backends  # uniqueness, concurrency and transactions differ


def create(api: Api, headers: dict[str, str], **body) -> httpx.Response:
    payload = {"name": "ci", "scopes": ["profile", "keys:read"], **body}
    return api.http.post("/api/v1/api-keys", json=payload, headers=headers)


def test_create_use_list_rotate_revoke(api: Api, deployment):
    first, second = deployment
    headers = api.bearer(api.login(api.register())["access_token"])
    created = create(api, headers, expires_in_days=30)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith(f"limen_{created.json()['prefix']}_")

    listed = api.http.get("/api/v1/api-keys", headers=headers).json()["items"]
    assert [k["id"] for k in listed] == [created.json()["id"]]
    assert "key" not in listed[0] and key not in str(listed)

    for node in (first, second):
        by_bearer = httpx.get(f"{node.url}/api/v1/me", headers={"Authorization": f"Bearer {key}"})
        by_header = httpx.get(f"{node.url}/api/v1/me", headers={"X-API-Key": key})
        assert by_bearer.status_code == by_header.status_code == 200
        assert by_header.json()["credential"] == "api_key"
        assert by_header.json()["permissions"] == ["keys:read", "profile"]

    url = first.env["LIMEN_DATABASE_URL"]
    stored = scalar(url, "SELECT digest FROM api_keys WHERE id = :id", id=created.json()["id"])
    assert key not in stored and len(stored) == 64
    # Verification writes no row: the use waits in Redis for the api_keys.flush_usage job
    # (tests/e2e/jobs/test_key_usage.py follows it into the database and the portal).
    assert (
        scalar(url, "SELECT last_used_at FROM api_keys WHERE id = :id", id=created.json()["id"])
        is None
    )

    rotated = api.http.post(
        f"/api/v1/api-keys/{created.json()['id']}/rotate",
        json={"grace_seconds": 2},
        headers=headers,
    )
    assert rotated.status_code == 201, rotated.text
    successor = rotated.json()["key"]
    assert rotated.json()["rotated_from_id"] == created.json()["id"]
    assert httpx.get(f"{first.url}/api/v1/me", headers={"X-API-Key": key}).status_code == 200
    assert httpx.get(f"{first.url}/api/v1/me", headers={"X-API-Key": successor}).status_code == 200
    time.sleep(2.5)
    old = httpx.get(f"{second.url}/api/v1/me", headers={"X-API-Key": key})
    assert old.status_code == 401 and old.json()["cause"] == "rotated"

    revoked = api.http.delete(f"/api/v1/api-keys/{rotated.json()['id']}", headers=headers)
    assert revoked.status_code == 204
    gone = httpx.get(f"{second.url}/api/v1/me", headers={"X-API-Key": successor})
    assert gone.status_code == 401 and gone.json()["cause"] == "revoked"


def test_scopes_are_bounded_by_the_role(api: Api, server):
    headers = api.bearer(api.login(api.register())["access_token"])
    response = create(api, headers, scopes=["profile", "users:write"])
    assert response.status_code == 422
    assert "users:write" in response.json()["detail"]
    unknown = create(api, headers, scopes=["root"])
    assert unknown.status_code == 400  # not a scope at all: the schema refuses it


def test_a_key_only_does_what_its_scopes_allow(api: Api, server):
    headers = api.bearer(api.login(api.register())["access_token"])
    key = create(api, headers, scopes=["profile"]).json()["key"]
    response = api.http.get("/api/v1/api-keys", headers={"X-API-Key": key})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert response.json()["required_permission"] == "keys:read"


def test_keys_of_others_are_invisible(api: Api, server):
    owner = api.bearer(api.login(api.register())["access_token"])
    stranger = api.bearer(api.login(api.register())["access_token"])
    created = create(api, owner).json()
    key_id = created["id"]
    assert api.http.delete(f"/api/v1/api-keys/{key_id}", headers=stranger).status_code == 404
    assert (
        api.http.post(f"/api/v1/api-keys/{key_id}/rotate", json={}, headers=stranger).status_code
        == 404
    )
    # The owner's key still works and is still the only one: nothing was revoked or rotated.
    assert api.http.get("/api/v1/me", headers={"X-API-Key": created["key"]}).status_code == 200
    assert [k["id"] for k in api.http.get("/api/v1/api-keys", headers=owner).json()["items"]] == [
        key_id
    ]


def test_expired_key_is_rejected(api: Api, server):
    headers = api.bearer(api.login(api.register())["access_token"])
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    key = create(api, headers, expires_at=soon).json()["key"]
    assert httpx.get(f"{server.url}/api/v1/me", headers={"X-API-Key": key}).status_code == 200
    time.sleep(2.5)
    expired = httpx.get(f"{server.url}/api/v1/me", headers={"X-API-Key": key})
    assert expired.status_code == 401 and expired.json()["cause"] == "expired"
