"""A work-horse killed in the middle of a job: RQ retries it, and the re-run finishes the work
without duplicating or half-doing any of it."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from webapp.extensions import db
from webapp.identity.sessions import SessionStore
from webapp.jobs import overview
from webapp.jobs.runs import get
from webapp.models import AuditEvent, Session

from .conftest import JobsNode, wait_for

SESSIONS = 1500


def _live_records(node: JobsNode) -> int:
    return sum(1 for _ in node.redis.scan_iter("limen:session:*", count=1000))


def test_killed_revocation_job_is_rerun_to_a_consistent_state(make_node: Any) -> None:
    node: JobsNode = make_node(LIMEN_JOB_RETRY_INTERVALS="[1, 1]")
    now = datetime.now(UTC)
    store = SessionStore(node.redis)
    with node.app.app_context():
        rows = [
            {
                "id": f"sid-{i:05d}",
                "auth_method": "password",
                "client_id": "limen-portal",
                "created_at": now,
                "last_seen_at": now,
                "expires_at": now + timedelta(days=1),
            }
            for i in range(SESSIONS)
        ]
        db.session.execute(insert(Session), rows)
        db.session.commit()
        for row in rows:
            store.write(
                row["id"],
                user_id=None,
                client_id="limen-portal",
                auth_method="password",
                expires_at=row["expires_at"],
                now=now,
            )
        run_id = node.jobs.enqueue(
            "keys.revoke_signed",
            trigger="manual",
            params={
                "since": (now - timedelta(minutes=1)).isoformat(),
                "until": (now + timedelta(minutes=1)).isoformat(),
                "kids": ["test"],
            },
        )
    assert _live_records(node) == SESSIONS

    worker = node.spawn("worker")
    # Kill the horse (the forked process running the job, named in its run) mid-way.
    wait_for(lambda: 0 < _live_records(node) < SESSIONS * 0.8, 60, "progress\n" + worker.log())
    with node.app.app_context():
        horse = int((get(node.jobs.engine, run_id).worker or ":0").rsplit(":", 1)[1])
    assert horse and horse != worker.proc.pid  # type: ignore[union-attr]
    os.kill(horse, signal.SIGKILL)
    left_when_killed = _live_records(node)
    assert left_when_killed > 0

    def finished() -> Any:
        with node.app.app_context():
            row = get(node.jobs.engine, run_id)
            return row if row is not None and row.status == "succeeded" else None

    run = wait_for(finished, 120, "the retried run\n" + worker.log())
    assert run.attempts == 2
    assert "job.killed" in worker.log()
    assert _live_records(node) == 0
    with node.app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Session).where(Session.revoked_at.is_(None))
            )
            == 0
        )
        per_session = db.session.execute(
            select(AuditEvent.session_id, func.count())
            .where(AuditEvent.event == "session.revoked")
            .group_by(AuditEvent.session_id)
        ).all()
        assert len(per_session) == SESSIONS and {n for _, n in per_session} == {1}
        assert 0 < run.summary["sessions_revoked"] < SESSIONS  # the re-run did the rest only
        assert [r["status"] for r in overview(node.jobs)["runs"]] == ["succeeded"]
        db.session.rollback()
