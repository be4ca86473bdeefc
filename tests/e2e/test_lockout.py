"""Every branch of the lockout policy, over real HTTP (threshold 5, lock 4 s in tests)."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.db import scalar
from tests.support.factories import Api, unique_email
from tests.support.live import LiveServer

pytestmark = pytest.mark.both_backends  # uniqueness, concurrency and transactions differ


def attempt(server: LiveServer, email: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/auth/login", json={"email": email, "password": password}, timeout=60
    )


def test_four_failures_then_success_resets_the_counter(api: Api, server: LiveServer):
    account = api.register()
    for _ in range(4):
        assert attempt(server, account.email, "wrong password!!").status_code == 401
    assert attempt(server, account.email, account.password).status_code == 200
    url = server.env["LIMEN_DATABASE_URL"]
    assert scalar(url, "SELECT failed_login_count FROM users WHERE id = :id", id=account.id) == 0
    assert scalar(url, "SELECT last_login_at FROM users WHERE id = :id", id=account.id) is not None
    for _ in range(4):  # a fresh budget of four
        assert attempt(server, account.email, "wrong password!!").status_code == 401
    assert attempt(server, account.email, account.password).status_code == 200


def test_fifth_failure_locks_even_the_right_password_then_the_lock_expires(api, server):
    account = api.register()
    for _ in range(5):
        assert attempt(server, account.email, "wrong password!!").status_code == 401
    locked = attempt(server, account.email, account.password)
    assert locked.status_code == 423
    assert locked.headers["Content-Type"] == "application/problem+json"
    assert 1 <= int(locked.headers["Retry-After"]) <= 4
    assert "locked" in locked.json()["detail"]

    time.sleep(int(locked.headers["Retry-After"]) + 0.5)
    assert attempt(server, account.email, account.password).status_code == 200
    # After an expired lock the count starts again: one failure does not re-lock.
    assert attempt(server, account.email, "wrong password!!").status_code == 401
    assert attempt(server, account.email, account.password).status_code == 200


def test_twenty_parallel_failures_lock_exactly_once_and_none_get_in(api: Api, server: LiveServer):
    account = api.register()
    with ThreadPoolExecutor(20) as pool:
        codes = list(
            pool.map(
                lambda _: attempt(server, account.email, "nope nope nope").status_code, range(20)
            )
        )
        assert set(codes) <= {401, 423} and codes.count(401) >= 5
        # Past the threshold the right password, mixed with wrong ones, gets nobody in.
        mixed = [account.password if n % 2 else "nope nope nope" for n in range(10)]
        after = list(pool.map(lambda password: attempt(server, account.email, password), mixed))
    assert [r.status_code for r in after] == [423] * 10
    assert all("access_token" not in r.text for r in after)
    url = server.env["LIMEN_DATABASE_URL"]
    assert (
        scalar(
            url,
            "SELECT count(*) FROM audit_events WHERE event = 'login.success' AND user_id = :id",
            id=account.id,
        )
        == 0
    )
    assert (
        scalar(
            url,
            "SELECT count(*) FROM audit_events WHERE event = 'login.locked' AND user_id = :id",
            id=account.id,
        )
        == 1
    )
    assert scalar(url, "SELECT failed_login_count FROM users WHERE id = :id", id=account.id) >= 5


def test_unknown_email_and_wrong_password_look_the_same(api: Api, server: LiveServer):
    account = api.register()
    unknown = attempt(server, unique_email("ghost"), "whatever password")
    wrong = attempt(server, account.email, "whatever password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()

    def median_seconds(email: str) -> float:
        samples = []
        for _ in range(4):  # below the threshold: every attempt is a real check
            started = time.perf_counter()
            attempt(server, email, "whatever password")
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    other = api.register()  # fresh account so the timing loop cannot lock it
    ratio = median_seconds(unique_email("ghost")) / median_seconds(other.email)
    # Both run one argon2id verification; skipping it would make unknown emails ~10x faster.
    assert 0.33 < ratio < 3, ratio
