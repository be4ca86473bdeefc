"""Users (admin), your own sessions, and the audit log through /api/v1."""

from __future__ import annotations

import pytest

from tests.support.db import scalar
from tests.support.factories import PASSWORD, Api, bearer_for, create_user

pytestmark = pytest.mark.both_backends  # uniqueness, concurrency and transactions differ


@pytest.fixture(scope="session")
def admin(deployment) -> dict[str, str]:
    return bearer_for(deployment[0], create_user(deployment[0], "admin"))


def test_search_and_paginate_users(api: Api, admin):
    account = api.register()
    found = api.http.get("/api/v1/users", params={"q": account.email[:14]}, headers=admin).json()
    assert [u["email"] for u in found["items"]] == [account.email]
    page = api.http.get("/api/v1/users", params={"per_page": 1, "page": 2}, headers=admin).json()
    assert page["per_page"] == 1 and len(page["items"]) == 1 and page["total"] >= 2
    bad = api.http.get("/api/v1/users", params={"per_page": "lots"}, headers=admin)
    assert bad.status_code == 400 and "per_page" in bad.json()["detail"]


def test_removing_a_role_or_disabling_revokes_sessions_at_once(api: Api, admin, deployment):
    first, second = deployment
    account = api.register()
    promote = api.http.patch(
        f"/api/v1/users/{account.id}", json={"roles": ["admin", "analyst"]}, headers=admin
    )
    assert promote.json()["roles"] == ["admin", "analyst"]
    token = api.login(account)["access_token"]
    assert api.me(token, second.url).json()["roles"] == ["admin", "analyst"]
    api.http.patch(f"/api/v1/users/{account.id}", json={"roles": ["analyst"]}, headers=admin)
    assert api.me(token, second.url).status_code == 401  # the token still claimed admin

    token = api.login(account)["access_token"]
    disabled = api.http.patch(f"/api/v1/users/{account.id}", json={"active": False}, headers=admin)
    assert disabled.json()["active"] is False
    assert api.me(token, first.url).status_code == 401
    refused = api.http.post("/auth/login", json={"email": account.email, "password": PASSWORD})
    assert refused.status_code == 403 and "disabled" in refused.json()["detail"]


def test_admin_lock_answers_423_without_a_retry_time_until_unlocked(api: Api, admin):
    account = api.register()
    token = api.login(account)["access_token"]
    api.http.patch(f"/api/v1/users/{account.id}", json={"locked": True}, headers=admin)
    assert api.me(token).status_code == 401
    locked = api.http.post("/auth/login", json={"email": account.email, "password": PASSWORD})
    assert locked.status_code == 423 and "administrator" in locked.json()["detail"]
    assert "Retry-After" not in locked.headers
    api.http.patch(f"/api/v1/users/{account.id}", json={"locked": False}, headers=admin)
    assert api.login(account)["access_token"]


def test_analysts_cannot_administer(api: Api, server):
    token = api.login(api.register())["access_token"]
    target = api.register()
    for method, path, body in [
        ("GET", "/api/v1/users", {}),
        (
            "PATCH",
            f"/api/v1/users/{target.id}",
            {"roles": ["admin"], "active": False, "locked": True},
        ),
        ("GET", "/api/v1/audit", {}),
        ("GET", "/api/v1/clients", {}),
    ]:
        response = api.http.request(method, path, json=body, headers=api.bearer(token))
        assert response.status_code == 403, (method, path)
        assert response.json()["required_permission"], response.text
    # The real user the analyst tried to change is exactly as it was.
    url = server.env["LIMEN_DATABASE_URL"]
    roles = (
        "SELECT r.name FROM roles r JOIN user_roles ur ON ur.role_id = r.id WHERE ur.user_id = :id"
    )
    assert scalar(url, roles, id=target.id) == "analyst"
    assert api.login(target)["access_token"]


def test_own_sessions_listed_and_signed_out(api: Api):
    account = api.register()
    here = api.login(account)
    other = api.login(account)
    headers = api.bearer(here["access_token"])
    sessions = api.http.get("/api/v1/sessions", headers=headers).json()["items"]
    assert {s["id"] for s in sessions} >= {here["session_id"], other["session_id"]}
    assert [s["current"] for s in sessions if s["id"] == here["session_id"]] == [True]
    revoked = api.http.post("/api/v1/sessions/revoke-others", headers=headers).json()
    assert revoked["revoked"] >= 1
    assert api.me(other["access_token"]).status_code == 401
    assert api.me(here["access_token"]).status_code == 200
    stranger = api.bearer(api.login(api.register())["access_token"])
    assert (
        api.http.delete(f"/api/v1/sessions/{here['session_id']}", headers=stranger).status_code
        == 404
    )
    assert api.me(here["access_token"]).status_code == 200  # the owner is still signed in


def test_audit_log_filters(api: Api, admin):
    account = api.register()
    api.http.post("/auth/login", json={"email": account.email, "password": "wrong password"})
    events = api.http.get(
        "/api/v1/audit", params={"user_id": account.id, "event": "login."}, headers=admin
    ).json()
    assert [e["event"] for e in events["items"]] == ["login.failure"]
    assert events["items"][0]["details"]["reason"] == "bad_password"
    bad = api.http.get("/api/v1/audit", params={"since": "yesterday"}, headers=admin)
    assert bad.status_code == 400
