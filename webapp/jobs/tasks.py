"""The jobs: each a small function over identity services, idempotent, safe to run twice.

RQ calls ``execute(name, **params)`` on the runtime the worker serves (``perform`` runs one on
a given runtime: ``run_inline``); it records the attempt in ``job_runs``, logs one
structured line per outcome, and leaves the database session clean whatever happens.

A job is a unit-of-work boundary (``webapp/identity/db.py``): ``perform`` commits what the job
did when it returns and rolls it back when it raises. A job that works through many rows
commits each step with ``ctx.commit()`` (short transactions; one failure loses one step).
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from rq import get_current_job

from webapp.identity import Identity
from webapp.settings import JobSettings

from . import runs
from .runtime import TASKS, JobsRuntime, job, serving_runtime

# Sessions revoked per commit by keys.revoke_signed: short transactions, and a worker killed
# mid-run loses at most this many rows of bookkeeping (their live records are already gone).
REVOKE_STEP = 50


class DeliveryFailed(Exception):
    """The receiver did not accept a back-channel logout; RQ retries with back-off."""


@dataclass(frozen=True)
class Context:
    """What a job gets: the identity services, the jobs runtime, and whether RQ will retry."""

    identity: Identity
    runtime: JobsRuntime
    final_attempt: bool

    @property
    def settings(self) -> JobSettings:
        """The jobs section of the settings tree."""
        return self.runtime.settings

    def commit(self) -> None:
        """End one step of the job's work: commit it (and run its after-commit effects)."""
        self.identity.db.commit()


# -- signing keys ---------------------------------------------------------------------------------
@job("keys.maintain")
def keys_maintain(ctx: Context) -> dict[str, Any]:
    """Publish a successor when the active key is due, promote it, retire what expired."""
    lifecycle = ctx.identity.key_lifecycle
    done = lifecycle.advance(ctx.runtime.key_policy())
    if done:
        ctx.commit()  # every process re-reads the ring on the news: it must be there to read
        ctx.runtime.publish("keys")
    return {"transitions": [{"kid": t.kid, "to": t.to_state} for t in done]}


@job("keys.rotate")
def keys_rotate(ctx: Context, actor: str | None = None) -> dict[str, Any]:
    """On demand: publish a successor now; keys.maintain promotes it after the publish delay."""
    lifecycle = ctx.identity.key_lifecycle
    row, created = lifecycle.request_rotation(actor)
    if created:
        ctx.commit()  # every process re-reads the ring on the news: it must be there to read
        ctx.runtime.publish("keys")
    signs_from = row.created_at.timestamp() + ctx.settings.key_publish_seconds
    return {"kid": row.kid, "created": created, "signs_from": int(signs_from)}


@job("keys.revoke_signed")
def keys_revoke_signed(
    ctx: Context, since: str, until: str, kids: list[str], actor: str | None = None
) -> dict[str, Any]:
    """After an emergency rotation: revoke every session that may hold the old key's tokens."""
    lifecycle = ctx.identity.key_lifecycle
    revocation = ctx.identity.revocation
    checked = revoked = 0
    window = (datetime.fromisoformat(since), datetime.fromisoformat(until))
    for batch in lifecycle.sessions_minted_between(*window):
        for sid in batch:
            checked += 1
            revoked += revocation.revoke_session(
                sid, reason="signing_key_compromised", actor=actor or "jobs", invalidate=False
            )
            if checked % REVOKE_STEP == 0:
                ctx.commit()  # progress a killed run keeps (a re-run does only the rest)
        ctx.commit()
        revocation.invalidate("signing_key_compromised")  # once per batch, not per session
    return {"sessions_checked": checked, "sessions_revoked": revoked, "kids": kids}


# -- credentials ----------------------------------------------------------------------------------
@job("credentials.maintain")
def credentials_maintain(ctx: Context) -> dict[str, Any]:
    """Successors for API keys and client secrets with a rotation policy; drop dead secrets."""
    rotation = ctx.identity.credential_rotation
    keys = []
    for key_id in rotation.due_api_keys():
        pair = rotation.rotate_api_key(key_id)
        ctx.commit()
        if pair is not None:
            keys.append(pair[0])
    clients = []
    overlap = ctx.runtime.client_secret_overlap()
    for row_id in rotation.due_client_secrets():
        client_id = rotation.rotate_client_secret(row_id, overlap)
        ctx.commit()
        if client_id is not None:
            clients.append(client_id)
    cleared = rotation.clear_expired_client_secrets()
    return {
        "api_keys_rotated": keys,
        "client_secrets_rotated": clients,
        "previous_client_secrets_cleared": cleared,
    }


@job("api_keys.flush_usage")
def api_keys_flush_usage(ctx: Context) -> dict[str, Any]:
    """Write the API keys' last use, noted in Redis by verification, to the database."""
    return {"keys_updated": ctx.identity.api_keys.usage.flush(ctx.identity.db)}


# -- back-channel logout --------------------------------------------------------------------------
@job("backchannel.deliver")
def backchannel_deliver(ctx: Context, delivery_id: str) -> dict[str, Any]:
    """POST one logout token; a failure raises so RQ retries it with back-off."""
    bcl = ctx.identity.backchannel
    claimed = bcl.claim(delivery_id, ctx.settings.max_attempts)
    ctx.commit()  # the claim holds before anything is sent
    if claimed is None:
        return {"delivery_id": delivery_id, "skipped": "delivered, failed or being sent"}
    if not claimed.uri:
        bcl.attempt_failed(claimed, "the client no longer has a backchannel_logout_uri", final=True)
        return {"delivery_id": delivery_id, "dropped": "no backchannel_logout_uri"}
    token = bcl.logout_token(claimed)
    final = ctx.final_attempt or claimed.attempt >= ctx.settings.max_attempts
    intervals = ctx.settings.job_retry_intervals
    retry_in = intervals[min(claimed.attempt - 1, len(intervals) - 1)] if intervals else 0
    import httpx  # only the worker sends: serving processes that import the jobs do not load it

    try:
        response = httpx.post(
            claimed.uri,
            data={"logout_token": token},
            headers={"Cache-Control": "no-store"},
            timeout=ctx.settings.backchannel_timeout_seconds,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    else:
        if response.status_code in (200, 204):
            bcl.delivered(claimed, response.status_code)
            return {"delivery_id": delivery_id, "status": response.status_code}
        error = f"HTTP {response.status_code}: {response.text[:200]}"
    bcl.attempt_failed(claimed, error, final=final, retry_in=max(0, retry_in - 1))
    ctx.commit()  # the failed attempt is on record; raising makes RQ retry
    raise DeliveryFailed(f"back-channel logout to {claimed.client_id} failed: {error}")


@job("backchannel.sweep")
def backchannel_sweep(ctx: Context) -> dict[str, Any]:
    """Send what the event path missed (enqueue failed, worker died); give up when used up."""
    bcl = ctx.identity.backchannel
    enqueued = given_up = 0
    for delivery_id, attempts in bcl.due():
        if attempts >= ctx.settings.max_attempts:
            given_up += bcl.give_up(delivery_id, "attempts used up (the last worker died)")
            ctx.commit()
            continue
        ctx.runtime.enqueue(
            "backchannel.deliver", trigger="schedule", params={"delivery_id": delivery_id}
        )
        enqueued += 1
    return {"enqueued": enqueued, "given_up": given_up}


# -- purges ---------------------------------------------------------------------------------------
@job("purge")
def purge(ctx: Context) -> dict[str, Any]:
    """Expired codes, sessions and refresh families; audit rows past their retention."""
    purger, retention = ctx.identity.purger, ctx.runtime.retention()
    counts: dict[str, int] = {}
    for table, deleted in purger.batches(retention):
        ctx.commit()
        counts[table] = counts.get(table, 0) + deleted
    purger.record(counts, retention)
    return counts


def execute(name: str, **params: Any) -> dict[str, Any]:
    """RQ's entry point for every Limen job: run it on the runtime this worker serves."""
    return perform(serving_runtime(), name, **params)


def perform(rt: JobsRuntime, name: str, **params: Any) -> dict[str, Any]:
    """Run one job on ``rt`` as its unit of work (also inline: ``rotate-keys --now``)."""
    ident = rt.identity
    job = get_current_job()
    run_id = job.id if job is not None else params.pop("_run_id")
    final = job is None or not job.retries_left
    attempt = runs.started(rt.engine, run_id, name, ident.clock())
    log = structlog.get_logger("limen.jobs").bind(job=name, run_id=run_id, attempt=attempt)
    log.info("job.started")
    ident.keys.invalidate()  # a long-lived worker must not sign with yesterday's ring
    started = time.perf_counter()
    ctx = Context(ident, rt, final)
    try:
        summary = TASKS[name](ctx, **params)
        ctx.commit()
    except Exception as exc:
        ident.db.rollback()
        runs.failed(rt.engine, run_id, traceback.format_exc(), final=final, now=ident.clock())
        log.error(
            "job.failed",
            error=f"{type(exc).__name__}: {exc}"[:300],
            will_retry=not final,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        raise
    finally:
        ident.db.close()
    runs.succeeded(rt.engine, run_id, summary, ident.clock())
    log.info(
        "job.succeeded",
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        summary=summary,
    )
    return summary
