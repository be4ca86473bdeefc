"""Redis or the database stops mid-run while clients keep calling: auth fails closed with 503
and Retry-After, nothing revoked is ever accepted, and everything recovers without a restart."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import base_env
from tests.support.factories import Api
from tests.support.live import LiveServer
from tests.support.services import PostgresCluster, RedisServer


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


class Hammer:
    """Clients that keep calling while the fault happens, recording every answer."""

    def __init__(self, node: LiveServer, live_token: str, revoked_token: str) -> None:
        self.node, self.live, self.revoked = node, live_token, revoked_token
        self.answers: Counter[tuple[str, int]] = Counter()
        self.bad: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.node.url, timeout=10) as http:
            while not self._stop.is_set():
                for name, token in (("live", self.live), ("revoked", self.revoked)):
                    r = http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
                    self._record(name, r)
                r = http.post("/auth/login", json={"email": "x@example.com", "password": "y"})
                self._record("login", r)

    def _record(self, name: str, response: httpx.Response) -> None:
        self.answers[(name, response.status_code)] += 1
        if name == "revoked" and response.status_code == 200:
            self.bad.append("a revoked token was accepted")
        if response.status_code >= 500 and (
            response.status_code != 503 or "Retry-After" not in response.headers
        ):
            self.bad.append(f"{name}: {response.status_code} {response.text[:120]}")

    def __enter__(self) -> Hammer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def statuses(hammer: Hammer, name: str) -> set[int]:
    return {code for (n, code) in hammer.answers if n == name}


def test_redis_outage_fails_closed_and_recovers(own_redis, make_database):
    node = LiveServer(base_env(own_redis.url, make_database("sqlite")))
    node.start()
    try:
        with Api(node.url) as api:
            account = api.register()
            live = api.login(account)["access_token"]
            revoked = api.login(account)
            api.http.post("/auth/logout", headers=api.bearer(revoked["access_token"]))
        with Hammer(node, live, revoked["access_token"]) as hammer:
            time.sleep(0.5)
            own_redis.stop()
            time.sleep(1.5)
            ready = httpx.get(f"{node.url}/readyz")
            assert ready.status_code == 503 and "unreachable" in ready.json()["checks"]["redis"]
            during = httpx.get(f"{node.url}/api/v1/me", headers={"Authorization": f"Bearer {live}"})
            assert during.status_code == 503 and during.headers["Retry-After"]
            own_redis.start()
            time.sleep(1.5)
        assert not hammer.bad, hammer.bad
        assert 503 in statuses(hammer, "live") and 503 in statuses(hammer, "login")
        assert httpx.get(f"{node.url}/readyz").status_code == 200
        # Redis keeps nothing on disk here: sessions are gone, so the old token is refused
        # (fail closed) and signing in again works, without restarting the node.
        assert (
            httpx.get(
                f"{node.url}/api/v1/me", headers={"Authorization": f"Bearer {live}"}
            ).status_code
            == 401
        )
        with Api(node.url) as api:
            assert api.me(api.login(account)["access_token"]).status_code == 200
    finally:
        node.stop()


def test_database_outage_fails_closed_and_recovers(redis_server):
    with PostgresCluster() as cluster:
        node = LiveServer(base_env(redis_server.url, cluster.create_database("limen_fault")))
        node.start()
        try:
            with Api(node.url) as api:
                account = api.register()
                token = api.login(account)["access_token"]
            cluster.stop_server()
            ready = httpx.get(f"{node.url}/readyz")
            assert ready.status_code == 503 and "unreachable" in ready.json()["checks"]["database"]
            login = httpx.post(
                f"{node.url}/auth/login",
                json={"email": account.email, "password": account.password},
            )
            assert login.status_code == 503 and login.headers["Retry-After"]
            assert login.headers["Content-Type"] == "application/problem+json"
            cluster.start_server()
            deadline = time.monotonic() + 20
            while httpx.get(f"{node.url}/readyz").status_code != 200:
                assert time.monotonic() < deadline, "no recovery"
                time.sleep(0.3)
            with Api(node.url) as api:
                assert api.me(token).status_code == 200  # the session survived in Redis
                assert api.login(account)["access_token"]
        finally:
            node.stop()


def test_database_failover_to_a_promoted_replica_loses_nothing(redis_server):
    """PostgreSQL primary + streaming replica behind one multi-host URL. The primary stops:
    live tokens keep verifying (Redis), writes answer 503 with Retry-After, nothing revoked is
    accepted; the replica is promoted and the same node writes there, without a restart, with
    every committed account present."""
    with PostgresCluster() as primary:
        primary.create_database("limen_failover")
        replica = primary.replica()
        node = LiveServer(
            base_env(
                redis_server.url,
                f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{replica.port}"
                "/limen_failover",
            )
        )
        try:
            node.start()
            with Api(node.url) as api:
                account = api.register()
                live = api.login(account)["access_token"]
                revoked = api.login(account)["access_token"]
                api.http.post("/auth/logout", headers=api.bearer(revoked))
                assert api.me(live).status_code == 200  # its profile is now remembered
            with Hammer(node, live, revoked) as hammer:
                time.sleep(0.5)
                primary.stop_server()  # the replica has every commit a clean stop sends
                stopped = time.monotonic()
                login = httpx.post(
                    f"{node.url}/auth/login",
                    json={"email": account.email, "password": account.password},
                )
                assert login.status_code == 503 and login.headers["Retry-After"]
                assert login.headers["Content-Type"] == "application/problem+json"
                during = httpx.get(
                    f"{node.url}/api/v1/me", headers={"Authorization": f"Bearer {live}"}
                )
                assert during.status_code == 200  # verification needs Redis, not PostgreSQL
                replica.promote()
                deadline = time.monotonic() + 30
                while httpx.get(f"{node.url}/readyz").status_code != 200:
                    assert time.monotonic() < deadline, "no recovery after the promotion"
                    time.sleep(0.2)
                outage = time.monotonic() - stopped
                time.sleep(0.5)
            assert not hammer.bad, hammer.bad
            assert statuses(hammer, "revoked") == {401}
            assert outage < 30, outage
            with Api(node.url) as api:
                assert api.login(account)["access_token"]  # written before the failover
                newcomer = api.register()  # a write on the new primary
                assert api.me(api.login(newcomer)["access_token"]).status_code == 200
        finally:
            node.stop()
            replica.stop()
