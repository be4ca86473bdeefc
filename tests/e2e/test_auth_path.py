"""The whole first-party path over real HTTP, on two gunicorn nodes sharing PostgreSQL or
SQLite and one real Redis: register -> login -> me -> refresh (body, cookie) -> logout."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.db import scalar
from tests.support.factories import Api
from tests.support.live import LiveServer

pytestmark = pytest.mark.both_backends  # uniqueness, concurrency and transactions differ


def test_register_login_me_refresh_logout_everywhere(api: Api, deployment):
    first, second = deployment
    account = api.register()
    login = api.login(account)  # the client keeps the HttpOnly cookies, like a browser

    for node in (first, second):
        me = api.me(login["access_token"], node.url)
        assert me.status_code == 200
        assert me.json()["email"] == account.email
        assert me.json()["session_id"] == login["session_id"]

    by_body = api.http.post("/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert by_body.status_code == 200, by_body.text
    assert by_body.json()["refresh_token"] != login["refresh_token"]

    # Refresh from the HttpOnly cookie alone: no token in the body, CSRF header required.
    csrf = by_body.json()["csrf_token"]
    by_cookie = api.http.post("/auth/refresh", headers={"X-CSRFToken": csrf})
    assert by_cookie.status_code == 200, by_cookie.text
    latest = by_cookie.json()
    assert latest["session_id"] == login["session_id"]
    assert api.me(latest["access_token"], second.url).status_code == 200

    # The portal cookie alone authenticates too.
    assert api.http.get("/api/v1/me").json()["credential"] == "cookie"

    out = api.http.post("/auth/logout", headers={"X-CSRFToken": latest["csrf_token"]})
    assert out.status_code == 204

    for token in (login["access_token"], by_body.json()["access_token"], latest["access_token"]):
        for node in (first, second):
            rejected = api.me(token, node.url)
            assert rejected.status_code == 401
            assert rejected.headers["WWW-Authenticate"].startswith(
                'Bearer realm="limen", error="invalid_token"'
            )
            assert rejected.json()["cause"] == "revoked_session"
    for spent in (login["refresh_token"], latest["refresh_token"]):
        again = httpx.post(f"{second.url}/auth/refresh", json={"refresh_token": spent})
        assert again.status_code == 401
    assert api.http.get("/api/v1/me").status_code == 401  # cookies were cleared


def test_cookie_refresh_without_csrf_is_refused_and_changes_nothing(api: Api, server: LiveServer):
    account = api.register()
    login = api.login(account)
    response = api.http.post("/auth/refresh")
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    # The refresh token was not spent: it still rotates normally.
    ok = httpx.post(f"{server.url}/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert ok.status_code == 200


def test_reuse_of_an_older_refresh_token_revokes_the_family(api: Api, deployment):
    first, second = deployment
    login = api.login(api.register())
    t1 = login["refresh_token"]
    t2 = httpx.post(f"{first.url}/auth/refresh", json={"refresh_token": t1}).json()
    t3 = httpx.post(
        f"{second.url}/auth/refresh", json={"refresh_token": t2["refresh_token"]}
    ).json()

    reused = httpx.post(f"{first.url}/auth/refresh", json={"refresh_token": t1})
    assert reused.status_code == 401
    assert "already used" in reused.json()["detail"]

    assert (
        httpx.post(
            f"{first.url}/auth/refresh", json={"refresh_token": t3["refresh_token"]}
        ).status_code
        == 401
    )
    for node in (first, second):
        assert api.me(t3["access_token"], node.url).status_code == 401
    url = first.env["LIMEN_DATABASE_URL"]
    assert (
        scalar(
            url,
            "SELECT count(*) FROM audit_events WHERE event = 'token.reuse_detected' "
            "AND session_id = :sid",
            sid=login["session_id"],
        )
        == 1
    )


def test_parallel_refresh_with_the_same_token_returns_one_successor(api: Api, deployment):
    first, second = deployment
    login = api.login(api.register())

    def refresh(node: LiveServer) -> httpx.Response:
        return httpx.post(
            f"{node.url}/auth/refresh", json={"refresh_token": login["refresh_token"]}, timeout=30
        )

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(refresh, [first, second, first, second]))
    assert [r.status_code for r in results] == [200] * 4, [r.text for r in results]
    successors = {r.json()["refresh_token"] for r in results}
    assert len(successors) == 1
    # The shared successor is live, and nothing was treated as reuse.
    nxt = httpx.post(f"{first.url}/auth/refresh", json={"refresh_token": successors.pop()})
    assert nxt.status_code == 200
    url = first.env["LIMEN_DATABASE_URL"]
    assert (
        scalar(
            url,
            "SELECT count(*) FROM audit_events WHERE event = 'token.reuse_detected' "
            "AND session_id = :sid",
            sid=login["session_id"],
        )
        == 0
    )


def test_repeat_of_the_previous_token_after_the_window_is_reuse(api: Api, server: LiveServer):
    login = api.login(api.register())
    rotated = httpx.post(
        f"{server.url}/auth/refresh", json={"refresh_token": login["refresh_token"]}
    )
    assert rotated.status_code == 200
    retry = httpx.post(f"{server.url}/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert retry.json()["refresh_token"] == rotated.json()["refresh_token"]  # idempotent retry

    time.sleep(2.5)  # LIMEN_REFRESH_RETRY_WINDOW=2 for the test deployment
    late = httpx.post(f"{server.url}/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert late.status_code == 401
    assert api.me(rotated.json()["access_token"]).status_code == 401
