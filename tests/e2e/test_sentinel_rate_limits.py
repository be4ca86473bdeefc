"""Rate limits under Redis Sentinel: flask-limiter counts on the master Sentinel names, in the
database the URL names, and a limit still holds after the replica took over."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.conftest import base_env
from tests.support.factories import unique_email
from tests.support.live import LiveServer
from tests.support.sentinel import SentinelSet


@pytest.fixture
def sentinels() -> Iterator[SentinelSet]:
    with SentinelSet() as topology:
        yield topology


def login(node: LiveServer, email: str) -> httpx.Response:
    return httpx.post(f"{node.url}/auth/login", json={"email": email, "password": "wrong pw!"})


def test_login_limit_counts_on_the_sentinel_master_and_survives_a_failover(
    sentinels: SentinelSet, make_database
):
    url = sentinels.url.replace("/limen/0", "/limen/2")
    env = base_env(url, make_database("sqlite"), LIMEN_RATELIMIT_LOGIN="3/minute")
    node = LiveServer(env)
    node.start()
    try:
        assert [login(node, unique_email()).status_code for _ in range(3)] == [401] * 3
        assert login(node, unique_email()).status_code == 429
        assert sentinels.replicated() == 1
        old = sentinels.kill_master()
        port = sentinels.wait_for_new_master(old)
        with redis.Redis(port=port, db=2) as promoted:
            # The counters live in the database the URL names, next to Limen's own keys.
            assert promoted.keys("LIMITS:LIMITER/limen-rl/127.0.0.1/auth.login/*")
            assert promoted.keys("limen:*")
        answers = [login(node, unique_email()) for _ in range(40)]
        settled = [r for r in answers if r.status_code != 503]
        assert settled and {r.status_code for r in settled} == {429}, [
            (r.status_code, r.text[:80]) for r in answers
        ]
        assert all(r.headers.get("Retry-After") for r in answers)
    finally:
        node.stop()
