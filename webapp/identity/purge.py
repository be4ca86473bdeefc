"""Purging what has outlived its use, in small batches: each batch is its own transaction.

A purge stopped half-way (killed worker, lost database) leaves only whole batches deleted, so
running it again simply continues. Rows that still protect something are kept: used
authorization codes until they expire (replay detection), sessions and refresh families until
they expire (reuse detection), audit events for the retention period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session as DbSession

from webapp.models import (
    AuditEvent,
    AuthorizationCode,
    BackchannelDelivery,
    DeviceCode,
    EmailToken,
    JobRun,
    MailMessage,
    RefreshFamily,
    Session,
)

from .audit import AuditLog
from .db import execute_dml

EXPIRED_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Retention:
    """How many days audit events and job runs are kept."""

    audit_days: int
    job_runs_days: int


class Purger:
    """Deletes what has outlived its use (codes, sessions, old runs and events) in batches."""

    def __init__(
        self,
        db: DbSession,
        audit: AuditLog,
        clock: Callable[[], datetime],
        batch_size: int = 1000,
        max_batches: int = 1000,
    ) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock
        self._batch = batch_size
        self._max_batches = max_batches

    def _targets(
        self, retention: Retention
    ) -> list[tuple[str, InstrumentedAttribute[Any], ColumnElement[bool]]]:
        now = self._clock()
        expired = now - EXPIRED_GRACE
        return [
            ("authorization_codes", AuthorizationCode.id, AuthorizationCode.expires_at < expired),
            ("device_codes", DeviceCode.id, DeviceCode.expires_at < expired),
            ("refresh_families", RefreshFamily.id, RefreshFamily.expires_at < expired),
            ("sessions", Session.id, Session.expires_at < expired),
            ("email_tokens", EmailToken.id, EmailToken.expires_at < expired),
            (
                "mail_messages",
                MailMessage.id,
                MailMessage.status.in_(("sent", "failed", "dropped", "outbox"))
                & (MailMessage.created_at < now - timedelta(days=retention.job_runs_days)),
            ),
            (
                "backchannel_deliveries",
                BackchannelDelivery.id,
                BackchannelDelivery.status.in_(("delivered", "failed"))
                & (BackchannelDelivery.created_at < now - timedelta(days=retention.job_runs_days)),
            ),
            (
                "job_runs",
                JobRun.id,
                JobRun.status.in_(("succeeded", "failed"))
                & (JobRun.enqueued_at < now - timedelta(days=retention.job_runs_days)),
            ),
            (
                "audit_events",
                AuditEvent.id,
                AuditEvent.occurred_at < now - timedelta(days=retention.audit_days),
            ),
        ]

    def batches(self, retention: Retention) -> Iterator[tuple[str, int]]:
        """Delete what is due, one batch at a time: yields (table, rows deleted) after each
        batch, and the caller commits it before asking for the next (short transactions, and
        a failure loses only the batch in hand). Every table is named once, even when empty."""
        for name, key, condition in self._targets(retention):
            yield name, 0
            table = key.class_
            for _ in range(self._max_batches):
                ids = list(self._db.scalars(select(key).where(condition).limit(self._batch)))
                if not ids:
                    break
                deleted = execute_dml(
                    self._db,
                    delete(table).where(key.in_(ids)).execution_options(synchronize_session=False),
                )
                yield name, deleted.rowcount
                if len(ids) < self._batch:
                    break

    def record(self, counts: dict[str, int], retention: Retention) -> None:
        """Put a purge of audit rows on record (the audit trail says it was shortened)."""
        if counts.get("audit_events"):
            self._audit.record(
                "audit.purged",
                actor="jobs",
                rows=counts["audit_events"],
                retention_days=retention.audit_days,
            )
