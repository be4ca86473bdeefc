"""Job-run bookkeeping: one ``job_runs`` row per RQ job, updated by each attempt.

Written through short sessions of their own on the runtime's engine, never the request's or
the job's session, so a rollback in a job cannot lose its own record and recording never
commits someone else's work.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session as DbSession

from webapp.models import JobRun

MAX_ERROR = 4000


def run_id_for(job: str) -> str:
    """A run id that is also a valid RQ job id: ``keys_rotate-<hex>``."""
    return f"{job.replace('.', '_')}-{uuid.uuid4().hex[:16]}"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def _session(engine: Engine) -> Iterator[DbSession]:
    with DbSession(engine, expire_on_commit=False) as session, session.begin():
        yield session


def enqueued(
    engine: Engine,
    run_id: str,
    job: str,
    *,
    trigger: str,
    params: dict[str, Any],
    actor: str | None,
    now: datetime,
) -> None:
    with _session(engine) as s:
        s.add(
            JobRun(
                id=run_id,
                job=job,
                trigger=trigger,
                status="queued",
                attempts=0,
                enqueued_at=now,
                actor=actor,
                params=params,
                summary={},
            )
        )


def started(engine: Engine, run_id: str, job: str, now: datetime) -> int:
    """Mark an attempt as running (creating the row if the enqueuer could not); its number."""
    with _session(engine) as s:
        row = s.get(JobRun, run_id)
        if row is None:
            row = JobRun(
                id=run_id,
                job=job,
                trigger="event",
                status="queued",
                attempts=0,
                enqueued_at=now,
                params={},
                summary={},
            )
            s.add(row)
        row.status = "running"
        row.attempts = (row.attempts or 0) + 1
        row.started_at = now
        row.finished_at = None
        row.worker = worker_name()
        return row.attempts


def succeeded(engine: Engine, run_id: str, summary: dict[str, Any], now: datetime) -> None:
    with _session(engine) as s:
        s.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(status="succeeded", summary=summary, finished_at=now, error=None)
        )


def failed(
    engine: Engine,
    run_id: str,
    error: str,
    *,
    final: bool,
    now: datetime,
    only_running: bool = False,
) -> None:
    """An attempt failed: ``retrying`` while retries remain, then ``failed`` (kept)."""
    statement = update(JobRun).where(JobRun.id == run_id)
    if only_running:  # the worker's view of a horse that died without saying so itself
        statement = statement.where(JobRun.status == "running")
    with _session(engine) as s:
        s.execute(
            statement.values(
                status="failed" if final else "retrying", error=error[-MAX_ERROR:], finished_at=now
            )
        )


def enqueue_failed(engine: Engine, run_id: str, error: str, now: datetime) -> None:
    failed(engine, run_id, f"could not enqueue: {error}", final=True, now=now)


def get(engine: Engine, run_id: str) -> JobRun | None:
    with _session(engine) as s:
        return s.get(JobRun, run_id)


def recent(
    engine: Engine, limit: int = 50, *, status: str | None = None, job: str | None = None
) -> list[JobRun]:
    query = select(JobRun)
    if status:
        query = query.where(JobRun.status == status)
    if job:
        query = query.where(JobRun.job == job)
    with _session(engine) as s:
        return list(s.scalars(query.order_by(JobRun.enqueued_at.desc()).limit(limit)))


def latest_per_job(engine: Engine, names: list[str]) -> dict[str, JobRun]:
    out = {}
    with _session(engine) as s:
        for name in names:
            row = s.scalar(
                select(JobRun)
                .where(JobRun.job == name)
                .order_by(JobRun.enqueued_at.desc())
                .limit(1)
            )
            if row is not None:
                out[name] = row
    return out


def as_dict(row: JobRun) -> dict[str, Any]:
    return {
        "id": row.id,
        "job": row.job,
        "trigger": row.trigger,
        "status": row.status,
        "attempts": row.attempts,
        "enqueued_at": row.enqueued_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "worker": row.worker,
        "actor": row.actor,
        "params": row.params,
        "summary": row.summary,
        "error": row.error,
    }
