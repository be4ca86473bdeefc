"""Real processes: `python -m webapp.jobs worker|cron` (the `limen-server` commands) on the
private redis-server and a fresh database, driven by an in-process app on the same settings."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

from tests.conftest import base_env
from tests.support.live import REPO_ROOT
from webapp import create_app
from webapp.extensions import db
from webapp.jobs import JobsRuntime
from webapp.settings import JobSettings

_DB_INDEX = itertools.cycle(range(1, 16))


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


@dataclass
class JobProcess:
    args: tuple[str, ...]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> JobProcess:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "webapp.jobs", *self.args],
                cwd=REPO_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # a horse left behind by a cold stop


@dataclass
class JobsNode:
    """One deployment's settings, an in-process app on them, and its job processes."""

    env: dict[str, str]
    app: Flask
    tmp: Path
    processes: list[JobProcess] = field(default_factory=list)

    @property
    def redis(self) -> redis.Redis:
        return self.app.extensions["limen.redis"]  # type: ignore[no-any-return]

    @property
    def jobs(self) -> JobsRuntime:
        return self.app.extensions["limen.jobs"]  # type: ignore[no-any-return]

    def spawn(self, *args: str) -> JobProcess:
        name = f"{args[0]}-{len(self.processes)}.log"
        process = JobProcess(args, self.env, self.tmp / name).start()
        self.processes.append(process)
        return process


def _settings_from_env(env: dict[str, str]) -> dict[str, Any]:
    prefix = "LIMEN_"
    return {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}


@pytest.fixture
def make_node(
    redis_server: Any, make_database: Callable[[str], str], tmp_path: Path
) -> Iterator[Callable[..., JobsNode]]:
    nodes: list[JobsNode] = []

    def make(backend: str = "sqlite", **extra: str) -> JobsNode:
        redis_url = redis_server.url.rsplit("/", 1)[0] + f"/{next(_DB_INDEX)}"
        with redis.Redis.from_url(redis_url) as client:
            client.flushdb()
        database_url = make_database(backend)
        env = {
            **os.environ,
            **base_env(redis_url, database_url, LIMEN_ISSUER="http://127.0.0.1:5998", **extra),
        }
        migrated = subprocess.run(
            [sys.executable, "-m", "webapp.cli", "db", "upgrade"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert migrated.returncode == 0, migrated.stderr
        app = create_app(
            {
                **_settings_from_env(base_env(redis_url, database_url)),
                "issuer": env["LIMEN_ISSUER"],
                "instance_path": tmp_path,
                "log_level": "WARNING",
            }
        )
        with pytest.MonkeyPatch.context() as mp:  # the job settings, read as the processes do
            for key, value in extra.items():
                mp.setenv(key, value)
            job_settings = JobSettings()
        node = JobsNode(env, app, tmp_path)
        node.jobs.configure(job_settings)
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        for process in node.processes:
            process.stop()
        node.app.extensions["limen.jobs"].close()
        with node.app.app_context():
            db.session.remove()
            db.engine.dispose()
        node.redis.close()
