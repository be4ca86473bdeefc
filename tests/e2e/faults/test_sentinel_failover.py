"""The Redis failover drill: Limen on a Sentinel-watched master + replica, clients calling
all the while; the master is killed, Sentinel promotes the replica, and Limen follows it.

Nothing revoked is accepted at any moment (revoked before the failover or after it), writes
during the outage fail cleanly (503 problem+json with Retry-After, never 500), and the
service comes back within a bounded window, which the test measures and prints."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import base_env
from tests.support.factories import PASSWORD, Account, Api
from tests.support.live import REPO_ROOT, LiveServer
from tests.support.sentinel import SentinelSet

RECOVERY_BOUND = 15.0  # seconds from the kill until the live token works again


@pytest.fixture
def sentinels() -> Iterator[SentinelSet]:
    with SentinelSet() as topology:
        yield topology


class Clients:
    """Calls every node in turn, in a loop, recording (time, what, status) of every answer:
    the live token, every revoked credential, and a write (a sign-in writes a session)."""

    def __init__(self, nodes: list[LiveServer], account: Account, live: str) -> None:
        self.nodes, self.account, self.live = nodes, account, live
        self.revoked: dict[str, dict[str, str]] = {}  # name -> headers; grows during the run
        self.answers: list[tuple[float, str, int]] = []
        self.bad: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def revoke(self, name: str, headers: dict[str, str]) -> None:
        """Start calling with a credential whose revocation has just returned."""
        self.revoked = {**self.revoked, name: headers}

    def _run(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self._stop.is_set():
                for node in self.nodes:
                    calls = {"live": {"Authorization": f"Bearer {self.live}"}, **self.revoked}
                    for name, headers in calls.items():
                        self._record(name, http.get(f"{node.url}/api/v1/me", headers=headers))
                    body = {"email": self.account.email, "password": PASSWORD}
                    self._record("write", http.post(f"{node.url}/auth/login", json=body))
                time.sleep(0.02)

    def _record(self, name: str, response: httpx.Response) -> None:
        self.answers.append((time.monotonic(), name, response.status_code))
        if name.startswith("revoked") and response.status_code == 200:
            self.bad.append(f"{name} was accepted")
        if response.status_code >= 500 and not (
            response.status_code == 503
            and response.headers.get("Retry-After")
            and response.headers.get("Content-Type") == "application/problem+json"
        ):
            self.bad.append(f"{name}: {response.status_code} {response.text[:160]}")

    def seen(self, name: str, since: float = 0.0) -> list[int]:
        return [code for (at, n, code) in self.answers if n == name and at >= since]

    def __enter__(self) -> Clients:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def api_key(api: Api, headers: dict[str, str]) -> tuple[str, str]:
    created = api.http.post(
        "/api/v1/api-keys", json={"name": "drill", "scopes": ["profile"]}, headers=headers
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], created.json()["key"]


def settled(call: Callable[[], httpx.Response], within: float = 10.0) -> httpx.Response:
    """``call()`` again while it fails cleanly (503: a node still finding the new master);
    a revocation that answers 503 did not happen, one that answers success holds."""
    deadline = time.monotonic() + within
    response = call()
    while response.status_code == 503 and time.monotonic() < deadline:
        assert response.headers["Retry-After"]
        time.sleep(0.2)
        response = call()
    return response


def revoke_key(api: Api, headers: dict[str, str], key_id: str) -> None:
    done = settled(lambda: api.http.delete(f"/api/v1/api-keys/{key_id}", headers=headers))
    assert done.status_code == 204, done.text


def logout(api: Api, token: str) -> None:
    done = settled(lambda: api.http.post("/auth/logout", headers=api.bearer(token)))
    assert done.status_code in (200, 204), done.text


def check_output(node: LiveServer) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "check"],
        env=node.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.stdout + done.stderr


# "kill": the master's process dies and its sockets close; "freeze": it stops answering
# with its sockets open (a partition): a subscription still attached to it hears nothing, so
# only asking Sentinel where the master is now tells a process its caches may be stale.
@pytest.mark.timeout(60)  # the whole drill, both nodes' start included
@pytest.mark.parametrize("fault", ["kill", "freeze"])
def test_redis_master_lost_sentinel_promotes_and_nothing_revoked_is_accepted(
    fault: str, sentinels: SentinelSet, make_database
):
    env = base_env(sentinels.url, make_database("postgresql"))
    first = LiveServer(env, threads=4, migrate=False)
    # The second node of the same deployment: same database, Sentinels and issuer.
    second = LiveServer({**env, "LIMEN_ISSUER": first.url}, threads=4, migrate=False)
    first.migrate()
    try:
        with ThreadPoolExecutor(2) as pool:  # both nodes boot at once
            for booted in [pool.submit(node.start) for node in (first, second)]:
                booted.result()
        started = time.monotonic()  # the drill, once both nodes serve
        with Api(first.url) as api:
            httpx.get(f"{second.url}/healthz")  # its first request starts its listener
            account = api.register()
            live = api.login(account)["access_token"]
            owner = api.bearer(api.login(account)["access_token"])
            before_token = api.login(account)["access_token"]
            before_key_id, before_key = api_key(api, owner)
            after_token = api.login(account)["access_token"]
            after_key_id, after_key = api_key(api, owner)
            time.sleep(0.5)  # both nodes' invalidation listeners are subscribed by now
            for node in (first, second):  # verified, so cached, by both nodes
                assert api.me(after_token, node.url).status_code == 200
                by_key = httpx.get(f"{node.url}/api/v1/me", headers={"X-API-Key": after_key})
                assert by_key.status_code == 200
            logout(api, before_token)
            revoke_key(api, owner, before_key_id)

            with Clients([first, second], account, live) as clients:
                clients.revoke("revoked-token-before", api.bearer(before_token))
                clients.revoke("revoked-key-before", {"X-API-Key": before_key})
                time.sleep(1.0)
                old_port = sentinels.kill_master() if fault == "kill" else sentinels.freeze_master()
                killed = time.monotonic()
                deadline = killed + RECOVERY_BOUND
                while not (
                    sentinels.master_port() not in (None, old_port)
                    and 200 in clients.seen("live", since=time.monotonic() - 0.3)
                    and 200 in clients.seen("write", since=time.monotonic() - 0.3)
                ):
                    assert time.monotonic() < deadline, (
                        f"no recovery within {RECOVERY_BOUND}s: {clients.answers[-6:]}"
                    )
                    time.sleep(0.1)
                # Revoked after the failover: refused from the moment the call returns.
                logout(api, after_token)
                clients.revoke("revoked-token-after", api.bearer(after_token))
                revoke_key(api, owner, after_key_id)
                clients.revoke("revoked-key-after", {"X-API-Key": after_key})
                time.sleep(1.0)

        served = [killed] + [
            at for (at, n, code) in clients.answers if n == "live" and code == 200 and at >= killed
        ]
        outage = max(b - a for a, b in itertools.pairwise(served))
        refused = clients.seen("write", since=killed).count(503)
        print(
            f"\nRedis failover drill ({fault}): no live-token answer for {outage:.2f} s; "
            f"{len(clients.answers)} answers, {refused} writes refused with 503"
        )
        assert not clients.bad, clients.bad[:10]
        assert outage < RECOVERY_BOUND
        assert set(clients.seen("write", since=killed)) >= {503, 200}  # failed cleanly, resumed
        for name in ("revoked-token-before", "revoked-key-before"):
            assert set(clients.seen(name)) <= {401, 503} and 401 in clients.seen(name)
        for name in ("revoked-token-after", "revoked-key-after"):
            assert set(clients.seen(name)) == {401}
        assert clients.seen("live")[-1] == 200
        for node in (first, second):
            assert httpx.get(f"{node.url}/readyz").json()["checks"]["redis"] == "ok"

        report = check_output(second)
        new_port = sentinels.master_port()
        assert f"Sentinel master 'limen' at 127.0.0.1:{new_port}" in report, report
        assert "3 of 3 Sentinels answered" in report, report
        assert time.monotonic() - started < 60
    finally:
        second.stop()
        first.stop()
