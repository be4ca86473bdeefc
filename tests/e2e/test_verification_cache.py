"""The verification cache through real HTTP, real Redis and two nodes: reused credentials are
served from it, and a logout, a revoked key or a disabled user is refused everywhere the
moment the call that did it returns."""

from __future__ import annotations

import time

import httpx
import redis

from tests.support.factories import Api, bearer_for, create_user

TRIALS = 10


def me(node, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{node.url}/api/v1/me", headers=headers, timeout=30)


def warm(nodes, headers: dict[str, str]) -> None:
    for node in nodes:
        for _ in range(3):  # a worker answers each: every process holds it as verified
            assert me(node, headers).status_code == 200


def test_logout_is_refused_everywhere_when_it_returns(api: Api, deployment):
    account = api.register()
    for _ in range(TRIALS):
        headers = api.bearer(api.login(account)["access_token"])
        warm(deployment, headers)
        out = httpx.post(f"{deployment[0].url}/auth/logout", headers=headers, timeout=30)
        assert out.status_code == 204
        for node in reversed(deployment):
            refused = me(node, headers)
            assert refused.status_code == 401, refused.text
            assert refused.json()["cause"] == "revoked_session"


def test_revoked_key_and_disabled_owner_are_refused_at_once(api: Api, deployment):
    first, second = deployment
    account = api.register()
    owner = api.bearer(api.login(account)["access_token"])

    def new_key() -> tuple[str, dict[str, str]]:
        made = api.http.post(
            "/api/v1/api-keys", json={"name": "ci", "scopes": ["profile"]}, headers=owner
        )
        assert made.status_code == 201, made.text
        return made.json()["id"], {"X-API-Key": made.json()["key"]}

    for _ in range(3):
        key_id, key = new_key()
        warm(deployment, key)
        assert api.http.delete(f"/api/v1/api-keys/{key_id}", headers=owner).status_code == 204
        for node in (second, first):
            assert me(node, key).json()["cause"] == "revoked"

    _, key = new_key()
    warm(deployment, key)
    admin = bearer_for(first, create_user(first, "admin"))
    patched = httpx.patch(
        f"{second.url}/api/v1/users/{account.id}", json={"active": False}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    for node in (first, second):
        assert me(node, key).status_code == 401
        assert me(node, owner).status_code == 401


def test_reuse_is_served_from_the_cache_and_max_age_bounds_it(
    make_database, start_server, redis_server
):
    """Deleting the session record behind the server's back (no broadcast: a missed message)
    shows the cache at work, and that its entries end after LIMEN_VERIFY_CACHE_SECONDS."""
    url = make_database("sqlite")
    cached = start_server(url, LIMEN_VERIFY_CACHE_SECONDS="2")
    uncached = start_server(url, migrate=False, LIMEN_VERIFY_CACHE_SIZE="0")
    client = redis.Redis.from_url(redis_server.url)
    with Api(cached.url) as api:
        account = api.register()
        for node, still_accepted in ((cached, True), (uncached, False)):
            login = httpx.post(
                f"{node.url}/auth/login",
                json={"email": account.email, "password": account.password},
                timeout=30,
            ).json()
            headers = {"Authorization": f"Bearer {login['access_token']}"}
            assert me(node, headers).status_code == 200
            client.delete(f"limen:session:{login['session_id']}")
            assert (me(node, headers).status_code == 200) is still_accepted
        time.sleep(2.5)
        assert me(cached, headers).status_code == 401


def exists_calls(url: str) -> int:
    stats = redis.Redis.from_url(url).info("commandstats")
    return int(stats.get("cmdstat_exists", {}).get("calls", 0))


def test_a_refreshed_token_of_a_checked_session_costs_no_session_read(
    api: Api, deployment, redis_server
):
    """First-seen tokens of a session this process already checked (a refresh mints them)
    skip the session read; the logout that ends the session still refuses them everywhere."""
    account = api.register()
    tokens = api.login(account)
    old = api.bearer(tokens["access_token"])
    warm(deployment, old)
    fresh = []
    for _ in range(3):
        answer = api.http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert answer.status_code == 200, answer.text
        tokens = answer.json()
        fresh.append(api.bearer(tokens["access_token"]))
    before = exists_calls(redis_server.url)
    for headers in fresh:
        for node in deployment:
            assert me(node, headers).status_code == 200
    assert exists_calls(redis_server.url) == before  # six first-seen tokens, no session read
    out = httpx.post(f"{deployment[0].url}/auth/logout", headers=fresh[-1], timeout=30)
    assert out.status_code == 204
    for headers in (old, *fresh):
        for node in reversed(deployment):
            refused = me(node, headers)
            assert refused.status_code == 401, refused.text
            assert refused.json()["cause"] == "revoked_session"
