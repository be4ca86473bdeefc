"""Revocation: sign a session out everywhere, at once.

The durable state (database) is written first, then the live record in Redis is deleted; from
that moment every worker rejects the session's access tokens and refresh tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from webapp.models import RefreshFamily, RefreshToken, Session

from .audit import AuditLog
from .principal import RequestMeta
from .sessions import SessionStore


class Revocation:
    def __init__(
        self,
        db: DbSession,
        sessions: SessionStore,
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._sessions = sessions
        self._audit = audit
        self._clock = clock

    def revoke_session(
        self,
        sid: str,
        *,
        reason: str,
        event: str = "session.revoked",
        actor: str | None = None,
        meta: RequestMeta | None = None,
    ) -> bool:
        """Revoke one session, its refresh families and their tokens. False if already gone."""
        now = self._clock()
        row = self._db.get(Session, sid)
        if row is None:
            self._sessions.delete(sid)
            return False
        already = row.revoked_at is not None
        if not already:
            row.revoked_at = now
            row.revoked_reason = reason
        family_ids = list(
            self._db.scalars(select(RefreshFamily.id).where(RefreshFamily.session_id == sid))
        )
        if family_ids:
            self._db.execute(
                update(RefreshFamily)
                .where(RefreshFamily.id.in_(family_ids), RefreshFamily.revoked_at.is_(None))
                .values(revoked_at=now, revoked_reason=reason)
                .execution_options(synchronize_session=False)
            )
            self._db.execute(
                update(RefreshToken)
                .where(RefreshToken.family_id.in_(family_ids), RefreshToken.status == "active")
                .values(status="revoked")
                .execution_options(synchronize_session=False)
            )
        if not already:
            self._audit.record(
                event,
                user_id=row.user_id,
                actor=actor or row.user_id,
                client_id=row.client_id,
                session_id=sid,
                meta=meta,
                reason=reason,
            )
        self._db.commit()
        self._sessions.delete(sid, row.user_id)
        return not already

    def revoke_client(
        self,
        client_id: str,
        *,
        reason: str,
        actor: str | None = None,
        meta: RequestMeta | None = None,
    ) -> int:
        """Revoke every live session a client holds (the client was deleted)."""
        sids = list(
            self._db.scalars(
                select(Session.id).where(
                    Session.client_id == client_id, Session.revoked_at.is_(None)
                )
            )
        )
        return sum(self.revoke_session(sid, reason=reason, actor=actor, meta=meta) for sid in sids)

    def revoke_user(
        self,
        user_id: str,
        *,
        reason: str,
        actor: str | None = None,
        meta: RequestMeta | None = None,
    ) -> int:
        """Revoke every live session of a user (disable, lock, 'sign out everywhere')."""
        sids = set(
            self._db.scalars(
                select(Session.id).where(Session.user_id == user_id, Session.revoked_at.is_(None))
            )
        ) | self._sessions.sessions_of(user_id)
        count = 0
        for sid in sorted(sids):
            count += self.revoke_session(sid, reason=reason, actor=actor, meta=meta)
        return count
