"""Remembered consent (OIDC Core 3.1.2.4): what a person allowed a client, reused so that a
later authorization asking for no more needs no consent page, and ``prompt=none`` works.
The person can list what they allowed and take it back: revoking ends the client's tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session as DbSession

from webapp.models import AuthorizationCode, Consent, OAuthClient, Session

from .audit import AuditLog
from .errors import NotFound
from .principal import RequestMeta
from .revocation import Revocation


@dataclass(frozen=True)
class RememberedConsent:
    """One client a person allowed, with what and when (first approval, latest change)."""

    client_id: str
    client_name: str
    scopes: tuple[str, ...]
    granted_at: datetime
    updated_at: datetime


class Consents:
    """What each person already allowed each client, so consent is asked once."""

    def __init__(
        self,
        db: DbSession,
        clock: Callable[[], datetime],
        revocation: Revocation,
        audit: AuditLog,
    ) -> None:
        self._db = db
        self._clock = clock
        self._revocation = revocation
        self._audit = audit

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

    def of(self, user_id: str) -> list[RememberedConsent]:
        """Every client the person allowed, most recently approved first."""
        rows = self._db.execute(
            select(Consent, OAuthClient.name)
            .join(OAuthClient, OAuthClient.client_id == Consent.client_id)
            .where(Consent.user_id == user_id)
            .order_by(Consent.updated_at.desc(), Consent.client_id)
        ).all()
        return [
            RememberedConsent(
                row.client_id, name, tuple(row.scope.split()), row.created_at, row.updated_at
            )
            for row, name in rows
        ]

    def revoke(self, user_id: str, client_id: str, meta: RequestMeta | None = None) -> int:
        """Take back what the person allowed the client and end the client's sessions for
        them (tokens refused everywhere, back-channel logout owed); answers how many sessions
        ended. ``NotFound`` if the person never allowed this client (or already took it back)."""
        row = self._find(user_id, client_id)
        if row is None:
            raise NotFound("You have not allowed this application anything.")
        scope = row.scope
        self._db.delete(row)
        now = self._clock()
        # A code not yet exchanged was bought with the consent taken back: it buys nothing now.
        self._db.execute(
            update(AuthorizationCode)
            .where(
                AuthorizationCode.user_id == user_id,
                AuthorizationCode.client_id == client_id,
                AuthorizationCode.used_at.is_(None),
                AuthorizationCode.expires_at > now,
            )
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )
        sids = list(
            self._db.scalars(
                select(Session.id).where(
                    Session.user_id == user_id,
                    Session.client_id == client_id,
                    Session.revoked_at.is_(None),
                )
            )
        )
        ended = sum(
            self._revocation.revoke_session(
                sid, reason="consent_revoked", actor=user_id, meta=meta, invalidate=False
            )
            for sid in sids
        )
        self._audit.record(
            "oauth.consent_revoked",
            user_id=user_id,
            actor=user_id,
            client_id=client_id,
            meta=meta,
            scope=scope,
            sessions_ended=ended,
        )
        self._db.flush()
        if sids:  # every process forgets the sessions it verified, once this is durable
            self._revocation.invalidate_after_commit("consent_revoked")
        return ended

    def _find(self, user_id: str, client_id: str) -> Consent | None:
        return self._db.scalar(
            select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
        )
