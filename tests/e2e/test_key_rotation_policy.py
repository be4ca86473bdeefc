"""An API key with a rotation policy gets a successor from the scheduled job; its owner sees
the expiry coming, collects the successor's secret once, and the old key keeps its grace."""

from __future__ import annotations

import subprocess
import sys

from tests.support.db import execute
from tests.support.factories import Api, bearer_for, create_user
from tests.support.live import REPO_ROOT


def test_policy_successor_collected_once(api: Api, server):
    headers = api.bearer(api.login(api.register())["access_token"])
    key = api.http.post(
        "/api/v1/api-keys",
        headers=headers,
        json={"name": "etl", "scopes": ["profile"], "expires_in_days": 10},
    ).json()
    no_expiry = api.http.post(
        "/api/v1/api-keys", headers=headers, json={"name": "forever", "scopes": ["profile"]}
    ).json()
    refused = api.http.put(
        f"/api/v1/api-keys/{no_expiry['id']}/rotation-policy",
        headers=headers,
        json={"rotate_before_days": 5},
    )
    assert refused.status_code == 422 and "expiry" in refused.json()["detail"]

    policy = api.http.put(
        f"/api/v1/api-keys/{key['id']}/rotation-policy",
        headers=headers,
        json={"rotate_before_days": 14, "grace_seconds": 3600},
    )
    assert policy.status_code == 200 and policy.json()["rotate_before_days"] == 14

    admin = bearer_for(server, create_user(server, "admin"))
    assert api.http.post("/api/v1/jobs/credentials.maintain/run", headers=admin).status_code in (
        200,
        201,
        202,
    )
    done = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "worker", "--burst", "--simple"],
        cwd=REPO_ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]

    keys = api.http.get("/api/v1/api-keys", headers=headers).json()["items"]
    successor = next(k for k in keys if k["rotated_from_id"] == key["id"])
    assert successor["successor_ready"] is True
    secret = api.http.post(f"/api/v1/api-keys/{successor['id']}/collect", headers=headers)
    assert secret.status_code == 200
    assert (
        api.http.get("/api/v1/me", headers={"X-API-Key": secret.json()["key"]}).status_code == 200
    )
    assert api.http.get("/api/v1/me", headers={"X-API-Key": key["key"]}).status_code == 200
    again = api.http.post(f"/api/v1/api-keys/{successor['id']}/collect", headers=headers)
    assert again.status_code == 404


def test_client_secret_policy_rotates_and_the_admin_collects_once(api: Api, server):
    admin = bearer_for(server, create_user(server, "admin"))
    made = api.http.post(
        "/api/v1/clients",
        headers=admin,
        json={"name": "reporting", "grant_types": ["client_credentials"], "scopes": ["profile"]},
    )
    client_id, old = made.json()["client_id"], made.json()["client_secret"]
    policy = api.http.put(
        f"/api/v1/clients/{client_id}/secret-policy", headers=admin, json={"rotation_days": 1}
    )
    assert policy.status_code == 200 and policy.json()["secret_rotation_days"] == 1
    # Two days pass (the database is the clock's only witness here).
    execute(
        server.env["LIMEN_DATABASE_URL"],
        "UPDATE oauth_clients SET created_at = created_at - interval '2 days' WHERE client_id = :c"
        if "postgresql" in server.env["LIMEN_DATABASE_URL"]
        else "UPDATE oauth_clients SET created_at = datetime(created_at, '-2 days') "
        "WHERE client_id = :c",
        c=client_id,
    )
    api.http.post("/api/v1/jobs/credentials.maintain/run", headers=admin)
    done = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "worker", "--burst", "--simple"],
        cwd=REPO_ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    listed = {
        c["client_id"]: c for c in api.http.get("/api/v1/clients", headers=admin).json()["items"]
    }
    assert listed[client_id]["rotated_secret_ready"] is True
    new = api.http.post(f"/api/v1/clients/{client_id}/collect-secret", headers=admin)
    assert new.status_code == 200

    def grant(secret: str) -> int:
        return api.http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        ).status_code

    assert grant(new.json()["client_secret"]) == 200
    assert grant(old) == 200  # the overlap
    again = api.http.post(f"/api/v1/clients/{client_id}/collect-secret", headers=admin)
    assert again.status_code == 404
