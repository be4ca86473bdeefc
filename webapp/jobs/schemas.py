"""Schemas of /api/v1/jobs: they shape the responses and the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class JobRunOut(_Out):
    id: str
    job: str
    trigger: str = Field(description="schedule, manual, event or retry")
    status: str = Field(description="queued, running, retrying, succeeded or failed")
    attempts: int
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    worker: str | None
    actor: str | None
    params: dict[str, Any]
    summary: dict[str, Any]
    error: str | None = Field(description="The last attempt's traceback, when it failed.")


class ScheduleEntryOut(_Out):
    job: str
    interval_seconds: int
    last_fired_at: str | None
    last_run_id: str | None
    last_fired_by: str | None
    due_in_seconds: float
    last_run: JobRunOut | None


class QueueStateOut(_Out):
    name: str
    queued: int
    started: int
    scheduled_retries: int
    failed: int
    workers: int


class SigningKeyStateOut(_Out):
    kid: str
    alg: str
    state: str
    created_at: datetime
    activated_at: datetime | None
    retiring_at: datetime | None
    retired_at: datetime | None
    next_step_at: datetime | None


class JobsOverview(_Out):
    queue: QueueStateOut
    schedule: list[ScheduleEntryOut]
    runs: list[JobRunOut]
    failures: list[JobRunOut]
    retrying: list[JobRunOut]
    signing_keys: list[SigningKeyStateOut]
    settings: dict[str, Any]
    jobs: list[str]


class JobStarted(_Out):
    run_id: str


class KeyRotationRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    now: bool = Field(
        False, description="Emergency: switch keys at once and revoke what the old key signed."
    )


class KeyRotationOut(_Out):
    emergency: bool
    run_id: str | None = None
    kid: str | None = None
    retired: list[str] = Field(default_factory=list)
    revocation_run_id: str | None = None
