"""What views and commands call, each on a jobs runtime: rotations on demand, retries, runs,
the jobs overview."""

from __future__ import annotations

from typing import Any

from rq import Worker
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from webapp.identity.db import after_commit
from webapp.identity.errors import Conflict, NotFound

from . import runs
from .cron import schedule_state
from .runtime import JobsRuntime
from .tasks import TASKS, perform

# Jobs an operator may start by hand (the others need parameters only the system knows).
MANUAL_JOBS = ("keys.maintain", "credentials.maintain", "backchannel.sweep", "purge")


def run_inline(
    rt: JobsRuntime, name: str, params: dict[str, Any], *, actor: str | None
) -> dict[str, Any]:
    """Run a job now in this process, recorded like any other run (CLI ``--now`` paths)."""
    run_id = runs.run_id_for(name)
    runs.enqueued(
        rt.engine,
        run_id,
        name,
        trigger="manual",
        params=params,
        actor=actor,
        now=rt.identity.clock(),
    )
    return perform(rt, name, _run_id=run_id, **params)


def request_mail(rt: JobsRuntime, kind: str, email: str) -> None:
    """A reset or verification link asked for by address: decided and sent by a job."""
    rt.request_mail(kind, email)


def enqueue_key_rotation(
    rt: JobsRuntime, now: bool = False, actor: str | None = None
) -> dict[str, Any]:
    """Rotate the signing key.

    ``now=False``: a successor is published at once and starts signing after the publish delay
    (every JWKS cache has seen it); the old key retires when its last token has expired.
    ``now=True`` (the key is compromised): a new key signs at once, the old one stops verifying
    at once on every node, and a job revokes every session that may hold its tokens.
    """
    if not now:
        run_id = rt.enqueue("keys.rotate", trigger="manual", params={"actor": actor}, actor=actor)
        return {"emergency": False, "run_id": run_id}
    ident = rt.identity
    outcome = ident.key_lifecycle.emergency_rotate(rt.key_policy(), actor)
    params = {
        "since": outcome.since.isoformat(),
        "until": outcome.until.isoformat(),
        "kids": outcome.retired,
        "actor": actor,
    }
    run_id = runs.run_id_for("keys.revoke_signed")

    def announce() -> None:  # once the new ring is committed, before the caller hears back
        rt.publish("keys")
        ident.invalidation.broadcast("keys.emergency")  # returns once every worker forgot
        rt.enqueue(
            "keys.revoke_signed",
            trigger="manual",
            params=params,
            actor=actor,
            at_front=True,
            run_id=run_id,
        )

    after_commit(ident.db, announce, "emergency rotation announced")
    return {
        "emergency": True,
        "kid": outcome.new_kid,
        "retired": outcome.retired,
        "revocation_run_id": run_id,
        "sessions_since": outcome.since,
        "sessions_until": outcome.until,
    }


def run_job(rt: JobsRuntime, name: str, actor: str | None = None) -> str:
    """Start a scheduled job now, out of schedule; returns the run id."""
    if name not in MANUAL_JOBS:
        raise NotFound(f"No job {name!r} can be started by hand; try one of {list(MANUAL_JOBS)}.")
    return rt.enqueue(name, trigger="manual", actor=actor)


def retry_run(rt: JobsRuntime, run_id: str, actor: str | None = None) -> str:
    """Run a failed job again with the same parameters (a new run, fresh retries)."""
    row = runs.get(rt.engine, run_id)
    if row is None:
        raise NotFound(f"No job run {run_id}.")
    if row.status != "failed":
        raise Conflict(f"Only failed runs can be retried; run {run_id} is {row.status}.")
    if row.job != "backchannel.deliver":
        return rt.enqueue(row.job, trigger="retry", params=dict(row.params), actor=actor)
    rt.identity.backchannel.reopen(str(row.params.get("delivery_id")))
    run_id = runs.run_id_for(row.job)
    params = dict(row.params)
    after_commit(  # the delivery is open again before a worker can take it
        rt.identity.db,
        lambda: rt.enqueue(row.job, trigger="retry", params=params, actor=actor, run_id=run_id),
        "retry enqueued",
    )
    return run_id


def get_run(rt: JobsRuntime, run_id: str) -> dict[str, Any]:
    row = runs.get(rt.engine, run_id)
    if row is None:
        raise NotFound(f"No job run {run_id}.")
    return runs.as_dict(row)


def _queue_state(rt: JobsRuntime) -> dict[str, Any]:
    queue, conn = rt.queue, rt.redis
    return {
        "name": queue.name,
        "queued": queue.count,
        "started": StartedJobRegistry(queue=queue).count,
        "scheduled_retries": ScheduledJobRegistry(queue=queue).count,
        "failed": FailedJobRegistry(queue=queue).count,
        "workers": Worker.count(connection=conn, queue=queue),
    }


def overview(rt: JobsRuntime, limit: int = 50) -> dict[str, Any]:
    """Everything the jobs page shows, as plain dicts (datetimes left as datetimes)."""
    latest = runs.latest_per_job(rt.engine, list(rt.settings.schedule))
    schedule = []
    for entry in schedule_state(rt):
        last = latest.get(entry["job"])
        schedule.append({**entry, "last_run": runs.as_dict(last) if last else None})
    ident = rt.identity
    keys = ident.key_lifecycle.describe(rt.key_policy())
    return {
        "queue": _queue_state(rt),
        "schedule": schedule,
        "runs": [runs.as_dict(r) for r in runs.recent(rt.engine, limit)],
        "failures": [runs.as_dict(r) for r in runs.recent(rt.engine, limit, status="failed")],
        "retrying": [runs.as_dict(r) for r in runs.recent(rt.engine, limit, status="retrying")],
        "signing_keys": keys,
        "settings": {
            "key_rotation_days": rt.settings.key_rotation_days,
            "key_publish_seconds": rt.settings.key_publish_seconds,
            "key_retire_margin_seconds": rt.settings.key_retire_margin_seconds,
            "audit_retention_days": rt.settings.audit_retention_days,
            "retry_intervals": rt.settings.job_retry_intervals,
        },
        "jobs": sorted(TASKS),
    }
