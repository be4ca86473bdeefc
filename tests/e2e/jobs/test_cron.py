"""Several `cron` processes: each scheduled job is enqueued once per interval, not once each."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import JobRun

from .conftest import JobsNode, wait_for

INTERVAL = 2
HOURLY = {
    "keys.maintain": 3600,
    "credentials.maintain": 3600,
    "backchannel.sweep": 3600,
    "mail.sweep": 3600,
}


def test_two_cron_processes_fire_each_job_once_per_interval(make_node: Any) -> None:
    schedule = json.dumps({"purge": INTERVAL, **HOURLY})
    node: JobsNode = make_node(LIMEN_JOB_INTERVALS=schedule, LIMEN_CRON_TICK_SECONDS="0.2")
    crons = [node.spawn("cron"), node.spawn("cron")]
    for cron in crons:
        wait_for(lambda c=cron: "cron.started" in c.log(), 30, "cron to start\n" + cron.log())
    started = time.monotonic()
    time.sleep(3 * INTERVAL + 1)
    elapsed = time.monotonic() - started
    for cron in crons:
        cron.stop()

    with node.app.app_context():
        runs = db.session.execute(
            select(JobRun.job, JobRun.enqueued_at).order_by(JobRun.enqueued_at)
        ).all()
        db.session.rollback()
    fired: dict[str, list[float]] = {}
    for job, enqueued_at in runs:
        fired.setdefault(job, []).append(enqueued_at.timestamp())
    assert {name: len(fired.get(name, [])) for name in HOURLY} == dict.fromkeys(HOURLY, 1)
    purges = fired["purge"]
    gaps = [b - a for a, b in itertools.pairwise(purges)]
    assert len(purges) <= elapsed / INTERVAL + 2, purges
    assert len(purges) >= 3, purges
    assert all(gap >= INTERVAL - 0.05 for gap in gaps), gaps  # never twice in one interval
    logs = [c.log().count("cron.fired") for c in crons]
    assert sum(logs) == len(runs)  # every run was fired by exactly one of the two
