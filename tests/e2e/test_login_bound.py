"""A login flood on a threaded server: password checks past the bound are refused at once
with 503 + Retry-After (problem+json), the rest succeed, and API calls keep being answered."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.factories import Api


def test_login_flood_is_shed_not_queued_behind(make_database, start_server):
    node = start_server(
        make_database("sqlite"),
        threads=6,
        LIMEN_ARGON2_TIME_COST="8",  # slow enough that parallel sign-ins overlap
        LIMEN_PASSWORD_HASH_QUEUE="0",
    )
    with Api(node.url) as api:
        account = api.register()
        token = api.login(account)["access_token"]

    def login(_: int) -> httpx.Response:
        return httpx.post(
            f"{node.url}/auth/login",
            json={"email": account.email, "password": account.password},
            timeout=60,
        )

    with ThreadPoolExecutor(5) as pool:
        flood = pool.map(login, range(10))
        during = httpx.get(
            f"{node.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        answers = list(flood)
    assert during.status_code == 200
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) == {200, 503}, statuses
    busy = next(a for a in answers if a.status_code == 503)
    assert busy.headers["Content-Type"] == "application/problem+json"
    assert busy.headers["Retry-After"] == "1"
    assert busy.json()["type"].endswith(":busy") and "retry" in busy.json()["detail"]
