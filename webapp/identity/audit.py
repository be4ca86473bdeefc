"""Append-only audit events. Callers add them inside their own transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from webapp.models import AuditEvent

from .db import keep_on_refusal
from .principal import RequestMeta


class AuditLog:
    """The append-only audit trail; events join the caller's transaction."""

    def __init__(self, db: DbSession, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock
        self._listeners: list[Callable[[AuditEvent], None]] = []

    def add_listener(self, listener: Callable[[AuditEvent], None]) -> None:
        """Call ``listener`` with each event as it is recorded (in the same transaction)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def record(
        self,
        event: str,
        *,
        outcome: str = "success",
        user_id: str | None = None,
        actor: str | None = None,
        client_id: str | None = None,
        session_id: str | None = None,
        meta: RequestMeta | None = None,
        **details: Any,
    ) -> AuditEvent:
        """Add one event to the current transaction; it is written when the boundary commits.

        A failure on record is a fact to keep: it marks the transaction
        :func:`~webapp.identity.db.keep_on_refusal`, so the refusal that follows still commits.
        """
        row = AuditEvent(
            occurred_at=self._clock(),
            event=event,
            outcome=outcome,
            user_id=user_id,
            actor=actor,
            client_id=client_id,
            session_id=session_id,
            ip=meta.ip if meta else None,
            request_id=meta.request_id if meta else None,
            details=details,
        )
        self._db.add(row)
        if outcome == "failure":
            keep_on_refusal(self._db)
        for listener in self._listeners:
            listener(row)
        return row

    def search(
        self,
        *,
        user_id: str | None = None,
        event: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> tuple[list[AuditEvent], int]:
        """Newest first, filtered; returns one page and the total count."""
        query = select(AuditEvent)
        if user_id:
            query = query.where(AuditEvent.user_id == user_id)
        if event:
            query = query.where(AuditEvent.event.like(f"{event}%"))
        if since:
            query = query.where(AuditEvent.occurred_at >= since)
        if until:
            query = query.where(AuditEvent.occurred_at < until)
        total = self._db.scalar(select(func.count()).select_from(query.subquery())) or 0
        per_page = max(1, min(per_page, 200))
        rows = self._db.scalars(
            query.order_by(AuditEvent.id.desc())
            .offset((max(1, page) - 1) * per_page)
            .limit(per_page)
        )
        return list(rows), total
