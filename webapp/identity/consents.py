"""Remembered consent (OIDC Core 3.1.2.4): what a person allowed a client, reused so that a
later authorization asking for no more needs no consent page, and ``prompt=none`` works."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session as DbSession

from webapp.models import Consent


class Consents:
    """What each person already allowed each client, so consent is asked once."""

    def __init__(self, db: DbSession, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock

    def covers(self, user_id: str, client_id: str, scopes: Iterable[str]) -> bool:
        """True when the person already allowed this client every one of ``scopes``."""
        row = self._find(user_id, client_id)
        return row is not None and set(scopes) <= set(row.scope.split())

    def remember(self, user_id: str, client_id: str, scopes: Iterable[str]) -> None:
        """Record an approval: the union of what was allowed before and now (flushed)."""
        now = self._clock()
        row = self._find(user_id, client_id)
        if row is None:
            row = Consent(user_id=user_id, client_id=client_id, scope="", created_at=now)
            self._db.add(row)
        row.scope = " ".join(sorted(set(row.scope.split()) | set(scopes)))
        row.updated_at = now
        self._db.flush()

    def forget(self, user_id: str, client_id: str) -> None:
        """Drop what the person allowed the client: the next authorization asks again."""
        self._db.execute(
            delete(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
        )

    def _find(self, user_id: str, client_id: str) -> Consent | None:
        return self._db.scalar(
            select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
        )
