"""Revocation: sign a session out everywhere, at once.

The live record in Redis is deleted first and every process's verification cache emptied
(waiting for each to confirm), then the durable change is written and committed: from the
delete on, every worker rejects the session's access and refresh tokens, and a crash before
the commit leaves the session dead rather than half-revoked (a re-run finishes the database
side). The same transaction writes the back-channel logout
deliveries the session's client is owed (an outbox); listeners (the jobs runtime) are told
after the commit so they can send them at once, and a scheduled sweep sends any they missed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from webapp.models import BackchannelDelivery, OAuthClient, RefreshFamily, RefreshToken, Session

from .audit import AuditLog
from .db import after_commit, keep_on_refusal
from .principal import RequestMeta
from .sessions import SessionStore

log = logging.getLogger("limen.revocation")


@dataclass(frozen=True)
class SessionRevoked:
    """What listeners hear after a session was revoked and the change committed."""

    sid: str
    user_id: str | None
    client_id: str | None
    reason: str
    deliveries: tuple[str, ...]  # back-channel logout deliveries written with the revocation


class Revocation:
    """Revoke sessions and their refresh families: one session, a user's, a client's."""

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
        self._listeners: list[Callable[[SessionRevoked], None]] = []

    def add_listener(self, listener: Callable[[SessionRevoked], None]) -> None:
        """Call ``listener`` after each newly revoked session has been committed."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def _notify(self, event: SessionRevoked) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                # The revocation itself is done and durable; what a listener does (enqueue a
                # delivery) is redone by the scheduled sweep, so a failure here is only logged.
                log.exception("revocation listener failed for session %s", event.sid)

    def _owe_backchannel_logout(self, row: Session) -> str | None:
        if not row.client_id:
            return None
        uri = self._db.scalar(
            select(OAuthClient.backchannel_logout_uri).where(OAuthClient.client_id == row.client_id)
        )
        if not uri:
            return None
        delivery = BackchannelDelivery(
            session_id=row.id,
            client_id=row.client_id,
            user_id=row.user_id,
            status="pending",
            attempts=0,
            created_at=self._clock(),
        )
        self._db.add(delivery)
        self._db.flush()
        return delivery.id

    def revoke_session(
        self,
        sid: str,
        *,
        reason: str,
        event: str = "session.revoked",
        actor: str | None = None,
        meta: RequestMeta | None = None,
        invalidate: bool = True,
    ) -> bool:
        """Revoke one session, its refresh families and their tokens. False if already gone.

        ``invalidate=False`` leaves emptying the verification caches to the caller, which
        must call ``invalidate()`` once its batch is done (before it returns)."""
        now = self._clock()
        row = self._db.get(Session, sid)
        if row is None:
            self._sessions.delete(sid, invalidate=invalidate)
            return False
        # The live record goes first (and, unless batched, every process's cached copy): the
        # session is refused everywhere from here on, before the durable bookkeeping below.
        # A Redis failure raises before anything changed; a failure after it leaves the
        # session dead, never half-alive, and a re-run finishes the database side.
        self._sessions.delete(sid, row.user_id, invalidate=invalidate)
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
        delivery = None
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
            delivery = self._owe_backchannel_logout(row)
        self._db.flush()
        revoked = SessionRevoked(
            sid, row.user_id, row.client_id, reason, (delivery,) if delivery else ()
        )
        keep_on_refusal(self._db)  # a revocation stands, whatever the request's answer
        if not already:
            after_commit(self._db, lambda: self._notify(revoked), f"session {sid} revoked")
            self._end_approved_by(sid, actor=actor, meta=meta, invalidate=invalidate)
        return not already

    def _end_approved_by(
        self, sid: str, *, actor: str | None, meta: RequestMeta | None, invalidate: bool
    ) -> None:
        """A sign-in session ended: so do the client sessions it approved (each client that
        got tokens, and an ID token naming that session, hears of it by back-channel), except
        those granted ``offline_access``, which outlive the sign-in by design."""
        children = list(
            self._db.scalars(
                select(Session.id).where(
                    Session.auth_session_id == sid, Session.revoked_at.is_(None)
                )
            )
        )
        if not children:
            return
        offline = set(
            self._db.scalars(
                select(RefreshFamily.session_id).where(
                    RefreshFamily.session_id.in_(children),
                    RefreshFamily.scope.contains("offline_access"),
                )
            )
        )
        for child in children:
            if child not in offline:
                self.revoke_session(
                    child, reason="signed_out", actor=actor, meta=meta, invalidate=invalidate
                )

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
        count = sum(
            self.revoke_session(sid, reason=reason, actor=actor, meta=meta, invalidate=False)
            for sid in sids
        )
        self.invalidate_after_commit(f"client:{reason}")
        return count

    def invalidate(self, reason: str) -> None:
        """Every process forgets what it verified, now (after a batch of revocations)."""
        self._sessions.invalidate(reason)

    def invalidate_after_commit(self, reason: str) -> None:
        """Every process forgets what it verified once this change is durable (a refill must
        not read the rows as they were before it)."""
        after_commit(self._db, lambda: self.invalidate(reason), f"invalidation:{reason}")

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
        # Refused everywhere first: every live record deleted (tokens of these sessions fail
        # their liveness check from now on), then the durable side session by session; every
        # cache is emptied once the whole change is committed (which also covers the user's
        # API keys, verified with their old status and roles, even with no session at all).
        for sid in sids:
            self._sessions.delete(sid, user_id, invalidate=False)
        self.invalidate_after_commit(f"user:{reason}")
        count = 0
        for sid in sorted(sids):
            count += self.revoke_session(
                sid, reason=reason, actor=actor, meta=meta, invalidate=False
            )
        return count
