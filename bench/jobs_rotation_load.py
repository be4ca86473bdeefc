"""Signing keys rotate three times while tokens are verified non-stop on two granian workers,
then an admin disables a user and every worker must reject that user's token.

    .venv/bin/python bench/jobs_rotation_load.py [--seconds-between 4] [--threads 6]

Everything is real and private to the run: redis-server, a SQLite (or --postgres) database,
granian with 2 workers, `python -m webapp.jobs worker` and `cron`. Time is compressed with
settings (access tokens live 20 s, keys are published 3 s before they sign, retire 10 s after
the last token they signed expires); the mechanism is the production one. Prints the numbers.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import Deployment  # noqa: E402
from tests.conftest import base_env  # noqa: E402
from tests.support.db import query  # noqa: E402
from tests.support.services import PostgresCluster, RedisServer  # noqa: E402

TTL = 20
PASSWORD = "correct horse battery staple"  # noqa: S105 (a throw-away bench user)


def kid_of(token: str) -> str:
    head = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"])


class Stack(Deployment):
    """The bench harness's deployment: granian (2 workers, request log by pid), worker, cron."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        super().__init__("jobs", env, tmp)

    def run(self, *args: str, stdin: str | None = None) -> str:
        return self.python(*args, stdin=stdin)

    def start(self) -> None:
        self.migrate()
        self.start_web(access_log=True)
        self.start_jobs()


class Load:
    """Threads that log in, refresh every few seconds and verify every live token they hold."""

    def __init__(self, stack: Stack, email: str, threads: int) -> None:
        self.stack, self.email, self.threads = stack, email, threads
        self.stop = threading.Event()
        self.ok = Counter[str]()
        self.failures: list[str] = []
        self.kids_seen: set[str] = set()
        self.jwks: KeySet | None = None
        self.jwks_fetches = 0
        self.lock = threading.Lock()
        self.workers: list[threading.Thread] = []

    def _jwks_key(self, kid: str) -> KeySet:
        with self.lock:
            if self.jwks is None or all(k.kid != kid for k in self.jwks.keys):
                # A resource server: cache JWKS, refetch on an unknown kid.
                data = httpx.get(f"{self.stack.url}/oauth/jwks", timeout=10).json()
                self.jwks, self.jwks_fetches = KeySet.import_key_set(data), self.jwks_fetches + 1
            return self.jwks

    def _thread(self) -> None:
        http = httpx.Client(base_url=self.stack.url, timeout=30)
        try:
            body = http.post("/auth/login", json={"email": self.email, "password": PASSWORD}).json()
            held: list[tuple[str, int]] = []
            refresh, last_refresh = body["refresh_token"], time.monotonic()
            held.append((body["access_token"], body["expires_at"]))
            while not self.stop.is_set():
                if time.monotonic() - last_refresh > 3:
                    r = http.post("/auth/refresh", json={"refresh_token": refresh})
                    if r.status_code != 200:
                        self.failures.append(f"refresh {r.status_code}: {r.text[:120]}")
                        return
                    body, last_refresh = r.json(), time.monotonic()
                    refresh = body["refresh_token"]
                    held.append((body["access_token"], body["expires_at"]))
                held = [(t, exp) for t, exp in held if exp - time.time() > 1]
                for token, _ in held:
                    kid = kid_of(token)
                    r = http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
                    key = f"node:{kid}"
                    if r.status_code == 200:
                        self.ok[key] += 1
                    else:
                        self.failures.append(f"/me {r.status_code} kid={kid}: {r.text[:160]}")
                    try:
                        jwt.decode(token, self._jwks_key(kid), algorithms=["ES256"])
                        self.ok[f"jwks:{kid}"] += 1
                    except (JoseError, ValueError) as exc:
                        self.failures.append(f"JWKS verify kid={kid}: {exc!r}")
                    with self.lock:
                        self.kids_seen.add(kid)
        finally:
            http.close()

    def start(self) -> None:
        self.workers = [threading.Thread(target=self._thread) for _ in range(self.threads)]
        for w in self.workers:
            w.start()

    def finish(self) -> None:
        self.stop.set()
        for w in self.workers:
            w.join()


def key_states(db_url: str) -> dict[str, str]:
    return dict(query(db_url, "SELECT kid, state FROM signing_keys"))  # type: ignore[arg-type]


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def measure_propagation(stack: Stack, db_url: str, email: str, probes: int) -> dict[str, Any]:
    """Disable a signed-in user the way the admin API does; time until every worker rejects."""
    token = httpx.post(
        f"{stack.url}/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
    ).json()["access_token"]
    results: list[tuple[float, str, int]] = []  # (sent at, request id, status)
    stop, lock = threading.Event(), threading.Lock()

    def probe() -> None:
        with httpx.Client(base_url=stack.url, timeout=30) as http:
            while not stop.is_set():
                rid = uuid.uuid4().hex
                sent = time.monotonic()
                try:
                    status = http.get(
                        "/api/v1/me",
                        headers={"Authorization": f"Bearer {token}", "X-Request-ID": rid},
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    results.append((sent, rid, status))

    threads = [threading.Thread(target=probe) for _ in range(probes)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    # The admin's action: users.is_active = false, then revoke_user(reason="user_disabled").
    helper = (
        "import sys\n"
        "from webapp import create_app\n"
        "from webapp.extensions import db, identity\n"
        "from webapp.models import User\n"
        "from sqlalchemy import select\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    user = db.session.scalar(select(User).where(User.email == sys.argv[1]))\n"
        "    sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.readline()\n"
        "    user.is_active = False\n"
        "    db.session.commit()\n"
        "    identity().revocation.revoke_user(user.id, reason='user_disabled')\n"
        "    sys.stdout.write('done\\n'); sys.stdout.flush()\n"
    )
    admin = subprocess.Popen(  # noqa: S603 (our own interpreter and helper)
        [sys.executable, "-c", helper, email],
        cwd=ROOT,
        env=stack.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=(stack.tmp / "admin.log").open("w"),
        text=True,
    )
    assert admin.stdout is not None and admin.stdin is not None
    if admin.stdout.readline().strip() != "ready":
        stop.set()
        raise RuntimeError((stack.tmp / "admin.log").read_text())
    t0 = time.monotonic()
    admin.stdin.write("go\n")
    admin.stdin.flush()
    assert admin.stdout.readline().strip() == "done"
    t_done = time.monotonic()
    admin.wait(timeout=30)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    time.sleep(0.5)  # let the workers write their request log lines
    pid_of = stack.pids_by_request()
    first_reject: dict[str, float] = {}
    last_accept: dict[str, float] = {}
    accepted_after = 0
    for sent, rid, status in sorted(results):
        pid = pid_of.get(rid, "?")
        if status == 200:
            last_accept[pid] = sent
            accepted_after += sent > t_done
        elif status == 401:
            first_reject.setdefault(pid, sent)
    per_worker = {pid: round((first_reject[pid] - t0) * 1000, 1) for pid in sorted(first_reject)}
    return {
        "probe_requests": len(results),
        "workers_seen": sorted(set(pid_of.get(r[1], "?") for r in results)),
        "admin_action_ms": round((t_done - t0) * 1000, 1),
        "first_rejection_after_action_start_ms_per_worker": per_worker,
        "requests_sent_after_action_completed_and_accepted": accepted_after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--seconds-between", type=float, default=4.0)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="limen-bench-jobs-"))
    with contextlib.ExitStack() as stack_ctx:
        redis = stack_ctx.enter_context(RedisServer())
        if args.postgres:
            cluster = stack_ctx.enter_context(PostgresCluster())
            db_url = cluster.create_database("bench_jobs")
        else:
            db_url = f"sqlite:///{tmp / 'bench.db'}"
        env = {
            **os.environ,
            **base_env(redis.url, db_url),
            "LIMEN_ISSUER": "http://127.0.0.1:5000",
            "LIMEN_ACCESS_TOKEN_TTL": str(TTL),
            "LIMEN_RATELIMIT_ENABLED": "false",
            "LIMEN_LOG_LEVEL": "WARNING",
            "LIMEN_KEY_PUBLISH_SECONDS": "3",
            "LIMEN_KEY_RETIRE_MARGIN_SECONDS": "10",
            "LIMEN_JOB_INTERVALS": json.dumps({"keys.maintain": 1}),
            "LIMEN_CRON_TICK_SECONDS": "0.2",
        }
        stack = Stack(env, tmp)
        stack_ctx.callback(stack.stop)
        stack.start()
        load_user, victim = "load@example.com", "victim@example.com"
        for email in (load_user, victim):
            stack.run(
                "-m",
                "webapp.cli",
                "create-user",
                "--email",
                email,
                "--password-stdin",
                stdin=PASSWORD + "\n",
            )

        load = Load(stack, load_user, args.threads)
        load.start()
        started = time.monotonic()
        rotations = []
        time.sleep(args.seconds_between)
        for _ in range(3):
            before = {k for k, s in key_states(db_url).items() if s == "active"}
            stack.run("-m", "webapp.jobs", "rotate-keys")
            wait_until(
                lambda b=before: {k for k, s in key_states(db_url).items() if s == "active"} - b,
                30,
                "the new key to sign",
            )
            rotations.append(time.monotonic() - started)
            time.sleep(args.seconds_between)
        wait_until(
            lambda: list(key_states(db_url).values()).count("retired") >= 3,
            TTL + 30,
            "the three old keys to retire",
        )
        time.sleep(2)
        load.finish()
        elapsed = time.monotonic() - started
        jwks = httpx.get(f"{stack.url}/oauth/jwks", timeout=10).json()

        propagation = measure_propagation(stack, db_url, victim, probes=4)

        total_ok = sum(load.ok.values())
        report = {
            "load_seconds": round(elapsed, 1),
            "rotations_at_seconds": [round(r, 1) for r in rotations],
            "keys": key_states(db_url),
            "jwks_at_end": [k["kid"] for k in jwks["keys"]],
            "verifications_ok": total_ok,
            "verifications_ok_by_kid": dict(sorted(load.ok.items())),
            "failed_verifications": len(load.failures),
            "failure_samples": load.failures[:5],
            "kids_seen_in_tokens": len(load.kids_seen),
            "jwks_fetches_by_resource_server": load.jwks_fetches,
            "verifications_per_second": round(total_ok / elapsed, 1),
            "propagation": propagation,
        }
        print(json.dumps(report, indent=2))
        worker_pids = {p for p in propagation["workers_seen"] if p != "?"}
        print(
            f"\nRESULT: {len(load.failures)} failed verifications out of "
            f"{total_ok + len(load.failures)} during 3 rotations ({len(load.kids_seen)} keys "
            f"signed tokens); disabled user rejected by {len(worker_pids)} workers within "
            f"{max(propagation['first_rejection_after_action_start_ms_per_worker'].values()):.0f}"
            f" ms of the admin action starting (action took {propagation['admin_action_ms']} ms;"
            f" {propagation['requests_sent_after_action_completed_and_accepted']} requests "
            "accepted after it completed)."
        )


if __name__ == "__main__":
    main()
