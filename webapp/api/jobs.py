"""/api/v1/jobs: the schedule, recent runs, failures and retries; retry or start a job."""

from __future__ import annotations

from flask import Response, jsonify

from webapp import jobs
from webapp.extensions import jobs_runtime
from webapp.http import current_principal, parse_body, require
from webapp.jobs.schemas import (
    JobRunOut,
    JobsOverview,
    JobStarted,
    KeyRotationOut,
    KeyRotationRequest,
)
from webapp.openapi import documented
from webapp.stepup import step_up

from . import bp


def _actor() -> str | None:
    principal = current_principal()
    return principal.sub if principal else None


@bp.get("/jobs")
@documented(
    "Background jobs: schedule, recent runs, failures, retries", responses={200: JobsOverview}
)
@require("jobs:read")
def jobs_overview() -> Response:
    """The queue, the schedule, recent and failed runs, signing keys and job settings."""
    return jsonify(
        JobsOverview.model_validate(jobs.overview(jobs_runtime())).model_dump(mode="json")
    )


@bp.get("/jobs/runs/<run_id>")
@documented("One job run, with the traceback of its last failure", responses={200: JobRunOut})
@require("jobs:read")
def job_run(run_id: str) -> Response:
    """One recorded job run; 404 if there is none with this id."""
    return jsonify(
        JobRunOut.model_validate(jobs.get_run(jobs_runtime(), run_id)).model_dump(mode="json")
    )


@bp.post("/jobs/runs/<run_id>/retry")
@documented("Run a failed job again (a new run)", responses={202: JobStarted})
@require("jobs:write")
def retry_job_run(run_id: str) -> tuple[Response, int]:
    """Run a failed job again as a new run (202 with its id); 409 if it did not fail."""
    return jsonify({"run_id": jobs.retry_run(jobs_runtime(), run_id, actor=_actor())}), 202


@bp.post("/jobs/<name>/run")
@documented("Start a scheduled job now", responses={202: JobStarted})
@require("jobs:write")
def start_job(name: str) -> tuple[Response, int]:
    """Start a job by name out of schedule (202 with the run's id); 404 if unknown."""
    return jsonify({"run_id": jobs.run_job(jobs_runtime(), name, actor=_actor())}), 202


@bp.post("/jobs/rotate-keys")
@documented(
    "Rotate the signing key (now=true: emergency, revokes what the old key signed)",
    body=KeyRotationRequest,
    responses={202: KeyRotationOut},
)
@require("signing-keys:write")
@step_up()
def rotate_signing_keys() -> tuple[Response, int]:
    """Queue a signing-key rotation (202); ``now`` makes it an emergency rotation."""
    body = parse_body(KeyRotationRequest, allow_empty=True)
    outcome = jobs.enqueue_key_rotation(jobs_runtime(), now=body.now, actor=_actor())
    return jsonify(KeyRotationOut.model_validate(outcome).model_dump(mode="json")), 202
