"""RQ's entry point runs a job on the runtime a worker serves, and only there."""

from __future__ import annotations

import pytest

from webapp.jobs.runtime import serving, serving_runtime
from webapp.jobs.tasks import execute


def test_a_job_outside_a_worker_says_how_to_start_one() -> None:
    with pytest.raises(RuntimeError, match="limen-server worker"):
        execute("purge")


def test_the_served_runtime_is_the_workers_while_it_serves() -> None:
    rt = object()
    with serving(rt):  # type: ignore[arg-type]
        assert serving_runtime() is rt
    with pytest.raises(RuntimeError):
        serving_runtime()
