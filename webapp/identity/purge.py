"""Purging what has outlived its use, in small batches: each batch is its own transaction.

A purge stopped half-way (killed worker, lost database) leaves only whole batches deleted, so
running it again simply continues. Rows that still protect something are kept: used
authorization codes until they expire (replay detection), sessions and refresh families until
they expire (reuse detection), audit events for the retention period.
"""

from __future__ import annotations

from collections.abc import Callable
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
    audit_days: int
    job_runs_days: int


class Purger:
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

    def purge(self, retention: Retention) -> dict[str, int]:
        """Delete what is due in every table; returns how many rows each lost."""
        counts: dict[str, int] = {}
        for name, key, condition in self._targets(retention):
            counts[name] = self._purge_table(key, condition)
        if counts["audit_events"]:
            self._audit.record(
                "audit.purged",
                actor="jobs",
                rows=counts["audit_events"],
                retention_days=retention.audit_days,
            )
            self._db.commit()
        return counts

    def _purge_table(self, key: InstrumentedAttribute[Any], condition: ColumnElement[bool]) -> int:
        total = 0
        table = key.class_
        for _ in range(self._max_batches):
            ids = list(self._db.scalars(select(key).where(condition).limit(self._batch)))
            if not ids:
                self._db.rollback()
                break
            deleted = execute_dml(
                self._db,
                delete(table).where(key.in_(ids)).execution_options(synchronize_session=False),
            )
            self._db.commit()
            total += deleted.rowcount
            if len(ids) < self._batch:
                break
        return total
