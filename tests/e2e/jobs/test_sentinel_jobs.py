"""RQ under Redis Sentinel: a job enqueued on one master is run by a worker after Sentinel
promoted the replica (the queue lives in Redis and moved with it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import base_env
from tests.support.db import query
from tests.support.live import REPO_ROOT
from tests.support.sentinel import SentinelSet


@pytest.fixture
def sentinels() -> Iterator[SentinelSet]:
    with SentinelSet() as topology:
        yield topology


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_job_enqueued_before_a_failover_is_run_after_it(sentinels: SentinelSet, make_database):
    url = make_database("postgresql")
    env = {**os.environ, **base_env(sentinels.url, url, LIMEN_ISSUER="http://127.0.0.1:5998")}
    assert run(env, "webapp.cli", "db", "upgrade").returncode == 0
    enqueued = run(env, "webapp.jobs", "rotate-keys")
    assert enqueued.returncode == 0 and "Rotation enqueued" in enqueued.stdout, enqueued.stderr
    assert sentinels.replicated() == 1  # the queue is on the replica too
    old = sentinels.kill_master()
    sentinels.wait_for_new_master(old)
    worker = run(env, "webapp.jobs", "worker", "--burst")
    assert worker.returncode == 0, worker.stdout + worker.stderr
    states = sorted(state for (state,) in query(url, "SELECT state FROM signing_keys"))
    assert states == ["active", "next"], worker.stdout + worker.stderr
    runs = query(url, "SELECT job, status FROM job_runs")
    assert ("keys.rotate", "succeeded") in runs, runs
