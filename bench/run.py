"""Limen's benchmarks: every figure a ratio measured side by side in one run, one table.

    scripts/bench                # installs wrk and the peers, then runs this
    .venv/bin/python bench/run.py [--rows 1,2,3] [--seconds 5] [--rounds 3] [--json out.json]

Starts private PostgreSQL and Redis, Limen as production runs it (granian, 2 workers with
blocking threads, an RQ worker and cron), the peers (npm oidc-provider,
django-oauth-toolkit) for the token endpoint, and drives everything with wrk from a separate
process on loopback.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    ROOT,
    WEB_THREADS,
    WEB_WORKERS,
    Deployment,
    Wrk,
    WrkResult,
    alternate,
    get_lua,
    median_of,
    median_rps,
    parse_wrk,
    percentile,
    post_lua,
    production_env,
    rotating_lua,
    rss_mb,
    stop_process,
    wait_ready,
)

from tests.support.services import PostgresCluster, RedisServer, free_port

PASSWORD = "correct horse battery staple"  # noqa: S105 (throw-away bench users)
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret-0123456789abcdef0123456789"  # noqa: S105 (throw-away)
KEYCLOAK_GRANTS_PER_VCPU = 120.0
PROBE_PAUSE = 0.003  # each probe thread: a request, then this pause
PEERS = ROOT / "bench" / "peers"


@dataclass
class Row:
    number: int
    what: str
    figure: str
    peer: str
    ratio: float | None
    goal: str
    met: bool | None
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "-"}[self.met]


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="limen-bench-"))
        self.rows: list[Row] = []
        self.details: dict[str, Any] = {}
        self.exit = contextlib.ExitStack()

    # -- infrastructure ----------------------------------------------------------------------
    def setup(self) -> None:
        self.redis = self.exit.enter_context(RedisServer())
        self.pg = self.exit.enter_context(PostgresCluster())
        self.main = self.deployment(
            "limen",
            self.pg.create_database("bench_main"),
            # Key rotation compressed into seconds (row 5); the mechanism is production's.
            LIMEN_KEY_PUBLISH_SECONDS="3",
            LIMEN_JOB_INTERVALS=json.dumps({"keys.maintain": 1}),
            LIMEN_CRON_TICK_SECONDS="0.5",
        )
        self.main.start_jobs()
        self.main.start_web()
        self.seed(self.main, "user", "analyst@bench.example", PASSWORD, "analyst")
        self.seed(self.main, "user", "admin@bench.example", PASSWORD, "admin")
        self.seed(self.main, "client", CLIENT_ID, CLIENT_SECRET)

    def deployment(self, name: str, db_url: str, **env: str) -> Deployment:
        dep = Deployment(name, production_env(self.redis.url, db_url, **env), self.tmp)
        dep.migrate()
        self.exit.callback(dep.stop)
        return dep

    def seed(self, dep: Deployment, *args: str) -> str:
        return dep.python("bench/seed.py", *args)

    def file(self, name: str) -> Path:
        return self.tmp / name

    def seconds(self) -> float:
        return float(self.args.seconds)

    def log(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def bearer_login(self, dep: Deployment, email: str) -> str:
        body = httpx.post(
            f"{dep.url}/auth/login", json={"email": email, "password": PASSWORD}, timeout=60
        ).json()
        return str(body["access_token"])

    # -- 0. the per-request floor against the framework's --------------------------------------
    def row_floor(self) -> None:
        """Limen's /healthz with production settings (rate limits on) under granian as
        `limen-server run` serves it, against a bare Flask JSON endpoint on the same granian
        shape (bench/bare_app.py), in alternating rounds."""
        self.log("row 0: /healthz against a bare Flask JSON endpoint, both on granian")
        limen = self.deployment(
            "floor", self.pg.create_database("bench_floor"), LIMEN_RATELIMIT_ENABLED="true"
        )
        limen.start_web()
        port = free_port()
        with (self.tmp / "bare-web.log").open("ab") as log:
            bare = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
                [
                    sys.executable, "-m", "granian", "--interface", "wsgi",
                    "--host", "127.0.0.1", "--port", str(port),
                    "--workers", str(WEB_WORKERS), "--blocking-threads", str(WEB_THREADS),
                    "--backlog", "2048", "--no-ws", "bare_app:app",
                ],
                cwd=ROOT / "bench",
                env=limen.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            wait_ready(f"http://127.0.0.1:{port}/healthz", what="bare Flask on granian")
            shapes = {
                "limen": Wrk(f"{limen.url}/healthz", get_lua({})),
                "bare": Wrk(f"http://127.0.0.1:{port}/healthz", get_lua({})),
            }
            for shape in shapes.values():
                shape.connections = self.args.connections
                shape.run(2)
            results = alternate(
                {n: (lambda s=s: s.run(self.seconds())) for n, s in shapes.items()},
                self.args.rounds,
            )
        finally:
            stop_process(bare)
            limen.stop()
        self.details["floor"] = {n: [r.__dict__ for r in rs] for n, rs in results.items()}
        mine, base = median_rps(results["limen"]), median_rps(results["bare"])
        failed = sum(r.failed for rs in results.values() for r in rs)
        self.rows.append(
            Row(
                0,
                "/healthz (granian, as limen-server run serves it; rate limits on) vs a bare "
                "Flask JSON endpoint on granian",
                f"{mine:.0f} req/s (p99 {median_of(results['limen'], 'p99_ms'):.1f} ms)",
                f"{base:.0f} req/s (p99 {median_of(results['bare'], 'p99_ms'):.1f} ms)",
                mine / base,
                ">= 0.70",
                mine / base >= 0.70 and failed == 0,
                f"{failed} failed" if failed else "",
            )
        )

    # -- 1. cost of authentication -----------------------------------------------------------
    def row_auth_cost(self) -> None:
        dep, secs = self.main, self.seconds()
        self.log("row 1: cost of authentication (JWT and API key, first-seen and reused)")
        rounds = self.args.rounds
        per_run = secs * rounds * 2500  # enough fresh credentials for every first-seen request
        tokens = self.file("tokens.txt")
        self.seed(dep, "tokens", "analyst@bench.example", str(int(per_run)), str(tokens))
        keys = self.file("keys.txt")
        self.seed(
            dep,
            "api-keys",
            "analyst@bench.example",
            str(int(per_run)),
            str(int(per_run)),
            str(keys),
        )
        token = tokens.read_text().splitlines()[0]
        key = keys.read_text().splitlines()[0]
        url = f"{dep.url}/api/v1/me"
        shapes = {
            "unauthenticated /healthz": Wrk(f"{dep.url}/healthz", get_lua({})),
            "JWT reused": Wrk(url, get_lua({"Authorization": f"Bearer {token}"})),
            "JWT first-seen": Wrk(url, rotating_lua("Authorization", "Bearer ", tokens)),
            "API key reused": Wrk(url, get_lua({"Authorization": f"Bearer {key}"})),
            "API key first-seen": Wrk(url, rotating_lua("Authorization", "Bearer ", keys)),
        }
        for shape in shapes.values():
            shape.connections = self.args.connections
            shape.run(2)  # warm: connections, caches, the JIT-less interpreter's imports
        results = alternate({n: (lambda s=s: s.run(secs)) for n, s in shapes.items()}, rounds)
        base = median_rps(results["unauthenticated /healthz"])
        self.details["auth_cost"] = {n: [r.__dict__ for r in rs] for n, rs in results.items()}
        for name in list(shapes)[1:]:
            rs = results[name]
            ratio = median_rps(rs) / base
            failed = sum(r.failed for r in rs)
            self.rows.append(
                Row(
                    1,
                    f"auth cost: /api/v1/me, {name}",
                    f"{median_rps(rs):.0f} req/s (p50 {median_of(rs, 'p50_ms'):.1f} ms, "
                    f"p99 {median_of(rs, 'p99_ms'):.1f} ms)",
                    f"{base:.0f} req/s /healthz (p50 "
                    f"{median_of(results['unauthenticated /healthz'], 'p50_ms'):.1f} ms, p99 "
                    f"{median_of(results['unauthenticated /healthz'], 'p99_ms'):.1f} ms)",
                    ratio,
                    ">= 0.90",
                    ratio >= 0.90 and failed == 0,
                    f"{failed} failed" if failed else "",
                )
            )

    # -- 2. scale of API keys ----------------------------------------------------------------
    def row_api_key_scale(self) -> None:
        """The same 1,000 keys presented in turn (each request a database lookup: the cache is
        off on these two deployments) against a table of 1,000 and of 1,000,000 keys."""
        self.log("row 2: API keys, 1,000 vs 1,000,000 in PostgreSQL (cache off: every lookup)")
        secs, known = self.seconds(), 1000
        shapes = {}
        deps = []
        for label, total in (("1k", 1000), ("1M", 1_000_000)):
            dep = self.deployment(
                f"keys{label}",
                self.pg.create_database(f"bench_keys_{label.lower()}"),
                LIMEN_VERIFY_CACHE_SIZE="0",
            )
            self.seed(dep, "user", "keys@bench.example", PASSWORD, "analyst")
            out = self.file(f"keys-{label}.txt")
            self.seed(dep, "api-keys", "keys@bench.example", str(known), str(total), str(out))
            dep.start_web()
            deps.append(dep)
            shapes[label] = Wrk(
                f"{dep.url}/api/v1/me",
                rotating_lua("Authorization", "Bearer ", out),
                connections=self.args.connections,
            )
            shapes[label].run(3)  # warm, and every key's once-a-minute last_used write
        results = alternate(
            {n: (lambda s=s: s.run(secs)) for n, s in shapes.items()}, self.args.rounds
        )
        small, large = median_rps(results["1k"]), median_rps(results["1M"])
        failed = sum(r.failed for rs in results.values() for r in rs)
        self.details["api_key_scale"] = {n: [r.__dict__ for r in rs] for n, rs in results.items()}
        ratio = large / small
        self.rows.append(
            Row(
                2,
                "API-key lookups: 1,000,000 keys vs 1,000",
                f"{large:.0f} req/s (p99 {median_of(results['1M'], 'p99_ms'):.1f} ms)",
                f"{small:.0f} req/s (p99 {median_of(results['1k'], 'p99_ms'):.1f} ms)",
                ratio,
                ">= 0.95",
                ratio >= 0.95 and failed == 0,
                f"{failed} failed" if failed else "",
            )
        )
        for dep in deps:
            dep.stop_web()  # idle servers still cost memory and timer wake-ups

    # -- 3. token endpoint -------------------------------------------------------------------
    def row_token_endpoint(self) -> None:
        self.log("row 3: client_credentials grants/s vs oidc-provider and django-oauth-toolkit")
        secs = self.seconds()
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Basic {basic}",
        }
        peers = self.start_peers()
        shapes = {
            "Limen": Wrk(
                f"{self.main.url}/oauth/token",
                post_lua("grant_type=client_credentials&scope=profile", form),
                connections=self.args.connections,
            ),
        }
        for name, (url, scope) in peers.items():
            shapes[name] = Wrk(
                url,
                post_lua(f"grant_type=client_credentials&scope={scope}", form),
                connections=self.args.connections,
            )
        # DOT as installed (secrets hashed with PBKDF2 on every grant): one run, for the record.
        dot_url = peers["django-oauth-toolkit"][0]
        hashed = Wrk(
            dot_url, post_lua("grant_type=client_credentials&scope=api:read", form), connections=8
        ).run(secs)
        # Then with secret hashing off, the configuration closest to Limen's; it is the one
        # the goal is judged on.
        self.dot_prepare(False)
        for name, shape in shapes.items():
            probe = shape.run(2)
            if probe.non_2xx or probe.requests == 0:
                raise RuntimeError(f"{name}'s token endpoint is not answering 200: {probe}")
        results = alternate(
            {n: (lambda s=s: s.run(secs)) for n, s in shapes.items()}, self.args.rounds
        )
        self.details["token_endpoint"] = {n: [r.__dict__ for r in rs] for n, rs in results.items()}
        limen = median_rps(results["Limen"])
        failed = sum(r.failed for r in results["Limen"])
        goals = {"oidc-provider": 1.0, "django-oauth-toolkit": 5.0}
        for name in peers:
            peer = median_rps(results[name])
            ratio = limen / peer
            self.rows.append(
                Row(
                    3,
                    f"client_credentials grants/s vs {name}",
                    f"{limen:.0f} grants/s (p99 {median_of(results['Limen'], 'p99_ms'):.1f} ms)",
                    f"{peer:.0f} grants/s (p99 {median_of(results[name], 'p99_ms'):.1f} ms)",
                    ratio,
                    f">= {goals[name]:g}",
                    ratio >= goals[name] and failed == 0,
                    f"{failed} failed" if failed else "",
                )
            )
        self.rows.append(
            Row(
                3,
                "client_credentials grants/s vs django-oauth-toolkit as installed (PBKDF2 "
                "client secrets, 8 connections)",
                f"{limen:.0f} grants/s",
                f"{hashed.rps:.1f} grants/s (p50 {hashed.p50_ms:.0f} ms)",
                limen / hashed.rps if hashed.rps else None,
                "(info)",
                None,
            )
        )
        cores = os.cpu_count() or 1
        per_core = limen / cores
        ratio = per_core / KEYCLOAK_GRANTS_PER_VCPU
        self.rows.append(
            Row(
                3,
                "client_credentials grants/s per core vs Keycloak's sizing figure",
                f"{per_core:.0f} grants/s/core ({limen:.0f} on {cores} cores, load generator and "
                "databases included)",
                f"{KEYCLOAK_GRANTS_PER_VCPU:.0f} grants/s/vCPU (published)",
                ratio,
                ">= 8",
                ratio >= 8,
            )
        )

    def start_peers(self) -> dict[str, tuple[str, str]]:
        """The peers, each with 2 worker processes like Limen: name -> (token URL, scope)."""
        started: dict[str, tuple[str, str]] = {}
        node = PEERS / "oidc_provider"
        port = free_port()
        env = {**os.environ, "PORT": str(port), "WORKERS": str(WEB_WORKERS)}
        proc = subprocess.Popen(  # noqa: S603 (node from the system, our script)
            [shutil.which("node") or "node", str(node / "server.mjs")],
            cwd=node,
            env=env,
            stdout=(self.tmp / "oidc-provider.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.exit.callback(stop_process, proc)  # type: ignore[arg-type]
        wait_ready(
            f"http://127.0.0.1:{port}/.well-known/openid-configuration", what="oidc-provider"
        )
        started["oidc-provider"] = (f"http://127.0.0.1:{port}/token", "api:read")

        dot = PEERS / "dot"
        dot_env = {
            **os.environ,
            "DOT_DATABASE_URL": self.pg.database_url("bench_dot").replace("+psycopg", ""),
            "DOT_SECRET_KEY": uuid.uuid4().hex * 2,
        }
        self.pg.create_database("bench_dot")
        subprocess.run(  # noqa: S603 (the peer's own venv)
            [str(dot / ".venv/bin/python"), str(dot / "prepare.py")],
            cwd=dot,
            env=dot_env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        port = free_port()
        proc = subprocess.Popen(  # noqa: S603 (the peer's own venv)
            [
                str(dot / ".venv/bin/gunicorn"),
                "--chdir",
                str(dot),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WEB_WORKERS),
                "--worker-class",
                "gthread",
                "--threads",
                str(WEB_THREADS),
                "--backlog",
                "2048",
                "--no-control-socket",
                "--log-level",
                "warning",
                "benchpeer.wsgi:application",
            ],
            cwd=ROOT,
            env=dot_env,
            stdout=(self.tmp / "dot.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.exit.callback(stop_process, proc)  # type: ignore[arg-type]
        wait_ready(f"http://127.0.0.1:{port}/healthz", what="django-oauth-toolkit", timeout=60)
        self.dot_prepare = lambda hashed: subprocess.run(  # noqa: S603 (the peer's own venv)
            [str(dot / ".venv/bin/python"), str(dot / "prepare.py")],
            cwd=dot,
            env={**dot_env, "DOT_HASH_CLIENT_SECRET": "1" if hashed else "0"},
            check=True,
            capture_output=True,
            timeout=300,
        )
        started["django-oauth-toolkit"] = (f"http://127.0.0.1:{port}/o/token/", "api:read")
        return started

    # -- 4. revocation propagation -----------------------------------------------------------
    def row_revocation(self) -> None:
        """Per trial: the victim's token is verified (and cached) on every worker, probes hit
        it without pause, then a logout or an admin disable; when did each worker refuse?"""
        trials = self.args.trials
        self.log(f"row 4: revocation propagation, {trials} trials (half logout, half disable)")
        dep = self.main
        dep.stop_web()
        dep.start_web(access_log=True)
        half = trials // 2
        logouts = self.file("logout-sessions.txt")
        self.seed(dep, "sessions", "analyst@bench.example", str(half), str(logouts))
        victims = self.file("victims.txt")
        self.seed(dep, "victims", str(trials - half), str(victims))
        admin = {"Authorization": f"Bearer {self.bearer_login(dep, 'admin@bench.example')}"}
        plans: list[tuple[str, str, Callable[[httpx.Client], httpx.Response]]] = []
        for line in logouts.read_text().splitlines():
            _, token = line.split()
            plans.append(
                (
                    "logout",
                    token,
                    lambda c, t=token: c.post(
                        f"{dep.url}/auth/logout", headers={"Authorization": f"Bearer {t}"}
                    ),
                )
            )
        for line in victims.read_text().splitlines():
            user_id, token = line.split()
            plans.append(
                (
                    "disable",
                    token,
                    lambda c, u=user_id: c.patch(
                        f"{dep.url}/api/v1/users/{u}", json={"active": False}, headers=admin
                    ),
                )
            )
        workers = {str(p) for p in dep.worker_pids()}
        records: list[tuple[int, str, float, float, str, int]] = []  # trial, kind, sent, got...
        marks: list[tuple[int, str, float, float, float]] = []  # trial, kind, t0, wall, done
        with httpx.Client(timeout=30) as control:
            for trial, (kind, token, revoke) in enumerate(plans):
                self._warm(dep, token)
                stop = threading.Event()
                lock = threading.Lock()

                def probe(
                    trial: int = trial,
                    token: str = token,
                    kind: str = kind,
                    stop: threading.Event = stop,
                    lock: threading.Lock = lock,
                ) -> None:
                    with httpx.Client(
                        timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
                    ) as http:
                        while not stop.is_set():
                            rid = uuid.uuid4().hex
                            sent = time.monotonic()
                            status = http.get(
                                f"{dep.url}/api/v1/me",
                                headers={"Authorization": f"Bearer {token}", "X-Request-ID": rid},
                            ).status_code
                            got = time.monotonic()
                            with lock:
                                records.append((trial, kind, sent, got, rid, status))
                            time.sleep(PROBE_PAUSE)  # paced: measure the path, not a flood

                threads = [threading.Thread(target=probe) for _ in range(self.args.probes)]
                for t in threads:
                    t.start()
                time.sleep(0.05)
                t0, t0_wall = time.monotonic(), time.time()
                answer = revoke(control)
                t_done = time.monotonic()
                if answer.status_code not in (200, 204):
                    raise RuntimeError(f"{kind} failed: {answer.status_code} {answer.text}")
                time.sleep(0.1)
                stop.set()
                for t in threads:
                    t.join()
                marks.append((trial, kind, t0, t0_wall, t_done))
        time.sleep(1.0)  # the workers' request log lines
        pid_of = dep.pids_by_request()
        # When each refusal happened: the server's own log line for the request (written as
        # the answer is made; same clock as t0_wall), not when the probe got the answer back.
        refused_at: dict[str, float] = {}
        server_log = dep.access_log
        for line in server_log.read_text(errors="replace").splitlines():
            if '"status":401' not in line.replace(" ", ""):  # orjson writes no spaces
                continue
            with contextlib.suppress(ValueError, KeyError, TypeError):
                entry = json.loads(line)
                refused_at[entry["request_id"]] = datetime.fromisoformat(
                    entry["timestamp"]
                ).timestamp()
        dep.stop_web()
        dep.start_web()
        spans: dict[str, list[float]] = {"logout": [], "disable": []}
        call_ms: list[float] = []
        accepted_after = unobserved = 0
        for trial, kind, t0, t0_wall, t_done in marks:
            call_ms.append((t_done - t0) * 1000)
            first: dict[str, float] = {}
            for rt, _, sent, _got, rid, status in records:
                if rt != trial:
                    continue
                if status == 200 and sent > t_done:
                    accepted_after += 1
                if status == 401 and sent >= t0:
                    pid, at = pid_of.get(rid), refused_at.get(rid)
                    if pid is not None and at is not None and (pid not in first or at < first[pid]):
                        first[pid] = at
            if set(first) != workers:
                unobserved += 1
                continue
            spans[kind].append((max(first.values()) - t0_wall) * 1000)
        every = spans["logout"] + spans["disable"]
        if not every:
            raise RuntimeError(f"no trial saw every worker {workers} refuse; see {dep.access_log}")
        self.details["revocation"] = {
            "spans_ms": spans,
            "call_ms": call_ms,
            "accepted_after": accepted_after,
            "unobserved": unobserved,
        }
        p99 = percentile(every, 99)
        self.rows.append(
            Row(
                4,
                f"revocation reaches every worker ({len(every)} trials: logout + admin disable)",
                f"p50 {percentile(every, 50):.1f} ms, p99 {p99:.1f} ms, max {max(every):.1f} ms; "
                f"{accepted_after} accepted after the call returned",
                f"the revoking call itself: p50 {percentile(call_ms, 50):.1f} ms, "
                f"p99 {percentile(call_ms, 99):.1f} ms",
                None,
                "p99 <= 50 ms, 0 accepted after",
                p99 <= 50 and accepted_after == 0 and unobserved == 0,
                f"{unobserved} trials without a probe on every worker" if unobserved else "",
            )
        )

    def _warm(self, dep: Deployment, token: str) -> None:
        """40 requests with the token on fresh connections, so that each worker very likely
        holds it as verified (trials where a worker was not probed are counted apart)."""
        # Fresh connections land on whichever worker accepts first; a few dozen reach both.
        with httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as h:
            for _ in range(40):
                r = h.get(f"{dep.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
                if r.status_code != 200:
                    raise RuntimeError(f"victim token refused before the trial: {r.text}")

    # -- 5. key rotation under load ----------------------------------------------------------
    def row_key_rotation(self) -> None:
        """wrk in 2-second chunks; before each chunk a fresh token from the token endpoint
        (signed by whichever key signs now) joins the previous ones. Three rotations, through
        the admin API, at chunks 3, 7 and 11; the chunks they touch vs the others."""
        self.log("row 5: three signing-key rotations under verification load")
        dep = self.main
        admin = {"Authorization": f"Bearer {self.bearer_login(dep, 'admin@bench.example')}"}
        basic = (CLIENT_ID, CLIENT_SECRET)
        held: list[str] = []
        tokens_file = self.file("rotation-tokens.txt")
        chunks: list[tuple[int, WrkResult, set[str]]] = []
        kids: set[str] = set()
        rotate_at, touched = {3, 7, 11}, {3, 4, 7, 8, 11, 12}
        with httpx.Client(timeout=30) as http:
            for chunk in range(15):
                got = http.post(
                    f"{dep.url}/oauth/token",
                    auth=basic,
                    data={"grant_type": "client_credentials", "scope": "profile"},
                )
                got.raise_for_status()
                token = got.json()["access_token"]
                held = [token, *held][:4]
                tokens_file.write_text("".join(t + "\n" for t in held))
                chunk_kids = {kid_of(t) for t in held}
                kids |= chunk_kids
                if chunk in rotate_at:
                    http.post(
                        f"{dep.url}/api/v1/jobs/rotate-keys", json={}, headers=admin
                    ).raise_for_status()
                shape = Wrk(
                    f"{dep.url}/api/v1/me",
                    rotating_lua("Authorization", "Bearer ", tokens_file),
                    connections=self.args.connections,
                )
                chunks.append((chunk, shape.run(2), chunk_kids))
        quiet = [r.rps for c, r, _ in chunks if c not in touched and c > 0]
        busy = [r.rps for c, r, _ in chunks if c in touched]
        failed = sum(r.failed for _, r, _ in chunks)
        dip = 1 - statistics.mean(busy) / statistics.mean(quiet)
        self.details["key_rotation"] = {
            "chunks": [(c, r.__dict__, sorted(k)) for c, r, k in chunks]
        }
        self.rows.append(
            Row(
                5,
                f"3 key rotations under load ({len(kids)} keys signed the tokens in use)",
                f"{statistics.mean(busy):.0f} req/s in the rotation windows; {failed} failed",
                f"{statistics.mean(quiet):.0f} req/s outside them",
                statistics.mean(busy) / statistics.mean(quiet),
                "0 failed, dip <= 10%",
                failed == 0 and dip <= 0.10 and len(kids) >= 4,
                f"dip {dip * 100:.1f}%",
            )
        )

    # -- 6. login cost and isolation ---------------------------------------------------------
    def row_login_isolation(self) -> None:
        self.log("row 6: argon2id login latency, and /api/v1/me under a login flood")
        dep, secs = self.main, self.seconds()
        body = json.dumps({"email": "analyst@bench.example", "password": PASSWORD})
        latencies = []
        with httpx.Client(timeout=60) as http:
            for _ in range(self.args.logins):
                t = time.perf_counter()
                http.post(
                    f"{dep.url}/auth/login",
                    content=body,
                    headers={"Content-Type": "application/json"},
                ).raise_for_status()
                latencies.append((time.perf_counter() - t) * 1000)
        token = self.bearer_login(dep, "analyst@bench.example")
        me = Wrk(
            f"{dep.url}/api/v1/me",
            get_lua({"Authorization": f"Bearer {token}"}),
            connections=self.args.connections,
        )
        flood = Wrk(
            f"{dep.url}/auth/login",
            post_lua(body, {"Content-Type": "application/json"}),
            connections=16,
        )
        # The control: the same 16 connections asking for /healthz. What /me loses to it is
        # what answering any flood costs, hashing or not.
        control = Wrk(f"{dep.url}/healthz", get_lua({}), connections=16)
        floods: list[WrkResult] = []

        def under(load: Wrk, record: bool) -> WrkResult:
            proc = load.start(secs + 2)
            time.sleep(1.0)  # the flood is on before /me is measured
            result = me.run(secs)
            out, _ = proc.communicate(timeout=secs + 60)
            if record:
                floods.append(parse_wrk(out))
            return result

        results = alternate(
            {
                "alone": lambda: me.run(secs),
                "flood": lambda: under(flood, True),
                "control": lambda: under(control, False),
            },
            self.args.rounds,
        )
        alone, during = median_rps(results["alone"]), median_rps(results["flood"])
        controlled = median_rps(results["control"])
        logins_per_s = statistics.median(f.rps for f in floods)
        self.details["login"] = {
            "sequential_ms": latencies,
            "floods": [f.__dict__ for f in floods],
            "me": {n: [r.__dict__ for r in rs] for n, rs in results.items()},
        }
        self.rows.append(
            Row(
                6,
                "argon2id login latency (t=3, 64 MiB, p=4), one at a time",
                f"p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms",
                f"under the flood: p50 {median_of(floods, 'p50_ms'):.0f} ms, "
                f"p99 {median_of(floods, 'p99_ms'):.0f} ms, {logins_per_s:.1f} logins/s",
                None,
                "report",
                None,
            )
        )
        failed = sum(r.failed for r in results["flood"])
        ratio = during / alone
        self.rows.append(
            Row(
                6,
                "/api/v1/me during a login flood (16 connections) vs alone",
                f"{during:.0f} req/s (p99 {median_of(results['flood'], 'p99_ms'):.1f} ms)",
                f"{alone:.0f} req/s (p99 {median_of(results['alone'], 'p99_ms'):.1f} ms)",
                ratio,
                ">= 0.70",
                ratio >= 0.70 and failed == 0,
                f"{failed} failed" if failed else "",
            )
        )
        self.rows.append(
            Row(
                6,
                "control: /api/v1/me during a /healthz flood (16 connections) vs alone",
                f"{controlled:.0f} req/s",
                f"{alone:.0f} req/s",
                controlled / alone,
                "(info)",
                None,
                f"login flood vs this control: {during / controlled:.2f}",
            )
        )
        self.row_login_flood_limited(body)

    def row_login_flood_limited(self, body: str) -> None:
        """The same flood against a deployment with production sign-in limits on: past the
        per-address limit the flood is answered by the flood gate, before Flask."""
        secs = self.seconds()
        dep = self.deployment(
            "limited", self.pg.create_database("bench_limited"), LIMEN_RATELIMIT_ENABLED="true"
        )
        dep.start_web()
        try:
            self.seed(dep, "user", "analyst@bench.example", PASSWORD, "analyst")
            token = self.bearer_login(dep, "analyst@bench.example")
            me = Wrk(
                f"{dep.url}/api/v1/me",
                get_lua({"Authorization": f"Bearer {token}"}),
                connections=self.args.connections,
            )
            flood = Wrk(
                f"{dep.url}/auth/login",
                post_lua(body, {"Content-Type": "application/json"}),
                connections=16,
            )

            def under() -> WrkResult:
                proc = flood.start(secs + 2)
                time.sleep(1.0)
                result = me.run(secs)
                proc.communicate(timeout=secs + 60)
                return result

            results = alternate({"alone": lambda: me.run(secs), "flood": under}, self.args.rounds)
        finally:
            dep.stop()
        alone, during = median_rps(results["alone"]), median_rps(results["flood"])
        failed = sum(r.failed for r in results["flood"])
        self.details["login_limited"] = {n: [r.__dict__ for r in rs] for n, rs in results.items()}
        self.rows.append(
            Row(
                6,
                "/api/v1/me during a login flood vs alone, production sign-in limits on",
                f"{during:.0f} req/s (p99 {median_of(results['flood'], 'p99_ms'):.1f} ms)",
                f"{alone:.0f} req/s",
                during / alone,
                ">= 0.70",
                during / alone >= 0.70 and failed == 0,
                f"{failed} failed" if failed else "",
            )
        )

    # -- 7. memory ---------------------------------------------------------------------------
    def row_memory(self) -> None:
        """100,000 requests (fresh tokens, a reused API key, /healthz in turn) on restarted
        workers; RSS of each worker at 50,000 and at 100,000."""
        self.log("row 7: RSS per worker over 100,000 requests")
        dep = self.main
        dep.stop_web()
        dep.start_web()
        tokens, keys = self.file("tokens.txt"), self.file("keys.txt")
        key = keys.read_text().splitlines()[0]
        shapes = [
            Wrk(
                f"{dep.url}/api/v1/me",
                rotating_lua("Authorization", "Bearer ", tokens),
                connections=self.args.connections,
            ),
            Wrk(
                f"{dep.url}/api/v1/me",
                get_lua({"X-API-Key": key}),
                connections=self.args.connections,
            ),
            Wrk(f"{dep.url}/healthz", get_lua({}), connections=self.args.connections),
        ]
        done, failed, turn = 0, 0, 0
        at: dict[int, dict[int, float]] = {}
        for mark in (50_000, 100_000):
            while done < mark:
                result = shapes[turn % len(shapes)].run(3)
                done += result.requests
                failed += result.failed
                turn += 1
            at[mark] = {pid: rss_mb(pid) for pid in dep.worker_pids()}
        worst = max(at[100_000].values())
        growth = max(at[100_000][p] / at[50_000][p] - 1 for p in at[100_000] if p in at[50_000])
        self.details["memory"] = {"requests": done, "rss_mb": at}
        self.rows.append(
            Row(
                7,
                f"RSS per web worker after {done:,} requests",
                ", ".join(f"{v:.0f} MB" for v in at[100_000].values())
                + f" (growth 50k->100k: {growth * 100:+.1f}%)",
                ", ".join(f"{v:.0f} MB" for v in at[50_000].values()) + " at 50k",
                None,
                "<= 150 MB, growth <= 5%",
                worst <= 150 and growth <= 0.05 and failed == 0,
                f"{failed} failed" if failed else "",
            )
        )

    # -- table -------------------------------------------------------------------------------
    def table(self) -> str:
        head = ("#", "measure", "Limen", "peer / baseline", "ratio", "goal", "result")
        lines = [head]
        for r in self.rows:
            ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
            verdict = r.verdict + (f" ({r.note})" if r.note else "")
            lines.append((str(r.number), r.what, r.figure, r.peer, ratio, r.goal, verdict))
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines[1:]]
        return "\n".join(out)

    def machine(self) -> str:
        cpu = "unknown CPU"
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        mem = ""
        with contextlib.suppress(OSError):
            kb = int(Path("/proc/meminfo").read_text().split()[1])
            mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
        return (
            f"{os.cpu_count()} cores ({cpu}){mem}, {platform.platform()}, "
            f"Python {platform.python_version()}"
        )


def kid_of(token: str) -> str:
    head = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"])


ROWS: dict[int, Callable[[Bench], None]] = {
    0: Bench.row_floor,
    1: Bench.row_auth_cost,
    2: Bench.row_api_key_scale,
    3: Bench.row_token_endpoint,
    4: Bench.row_revocation,
    5: Bench.row_key_rotation,
    6: Bench.row_login_isolation,
    7: Bench.row_memory,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default=",".join(str(n) for n in ROWS))
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each side-by-side pair")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--trials", type=int, default=200, help="revocation trials")
    parser.add_argument("--probes", type=int, default=4, help="probe threads per trial")
    parser.add_argument("--logins", type=int, default=40, help="sequential logins timed")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    started = time.monotonic()
    bench = Bench(args)
    with bench.exit:
        bench.setup()
        for number in [int(n) for n in args.rows.split(",")]:
            ROWS[number](bench)
    took = time.monotonic() - started
    print()
    print(f"Limen benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {bench.machine()}")
    print(
        f"granian {WEB_WORKERS} workers x {WEB_THREADS} blocking threads; wrk on loopback; "
        f"{args.rounds} alternating rounds of {args.seconds:.0f} s per figure; took "
        f"{took / 60:.1f} min"
    )
    print()
    print(bench.table())
    if args.json:
        args.json.write_text(
            json.dumps(
                {"rows": [r.__dict__ for r in bench.rows], "details": bench.details},
                indent=2,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
