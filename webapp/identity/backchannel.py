"""OIDC Back-Channel Logout 1.0: logout tokens and the state of each delivery.

A delivery row is written in the revocation's own transaction (see ``revocation``). Sending is
claimed with one conditional UPDATE, so two workers never POST the same delivery at once; a
claim that outlives its worker expires and the delivery is sent again (receivers must accept a
repeated ``jti``-distinct token for the same ``sid``, which the spec already requires).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from joserfc import jwt
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session as DbSession

from webapp.models import BackchannelDelivery, OAuthClient

from .audit import AuditLog
from .clients import is_loopback_redirect
from .db import execute_dml
from .errors import PolicyViolation
from .signing_keys import ALG, ID_TOKEN_ALG, KeyRing

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYP = "logout+jwt"  # noqa: S105 (a JOSE type, not a secret)
LOGOUT_TOKEN_TTL = 120
MAX_ERROR = 500
OPEN_STATES = ("pending", "sending", "retrying")


@dataclass(frozen=True)
class ClaimedDelivery:
    """A logout-token delivery a worker claimed: where to POST, for which session."""

    id: str
    uri: str
    client_id: str
    session_id: str
    user_id: str | None
    attempt: int
    alg: str = ALG  # the client's ID token algorithm: its logout tokens are signed alike


def validate_backchannel_uri(uri: str) -> str:
    """https anywhere, or http on a loopback address (development); no fragment."""
    parts = urlsplit(uri)
    if parts.fragment or not parts.hostname:
        raise PolicyViolation("backchannel_logout_uri must be an absolute URL without a fragment.")
    if parts.scheme == "https" or is_loopback_redirect(uri):
        return uri
    raise PolicyViolation("backchannel_logout_uri must be https (or http on a loopback address).")


class BackchannelLogout:
    """OIDC Back-Channel Logout: the outbox of logout tokens and their delivery state."""

    def __init__(
        self,
        db: DbSession,
        ring: KeyRing,
        audit: AuditLog,
        clock: Callable[[], datetime],
        *,
        issuer: str,
        claim_seconds: int = 60,
    ) -> None:
        self._db = db
        self._ring = ring
        self._audit = audit
        self._clock = clock
        self._issuer = issuer
        self._claim = timedelta(seconds=claim_seconds)

    def set_uri(self, client_id: str, uri: str | None, actor: str | None = None) -> None:
        """Register (or clear) where a client receives logout tokens."""
        client = self._db.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
        if client is None:
            raise PolicyViolation(f"No OAuth client with id {client_id}.")
        client.backchannel_logout_uri = validate_backchannel_uri(uri) if uri else None
        self._audit.record("client.backchannel_logout_uri_set", actor=actor, client_id=client_id)

    def _open(self, now: datetime) -> ColumnElement[bool]:
        """Not finished, and nobody holds it (a claim or a retry's back-off has passed)."""
        return BackchannelDelivery.status.in_(OPEN_STATES) & or_(
            BackchannelDelivery.claimed_until.is_(None), BackchannelDelivery.claimed_until <= now
        )

    def due(self, limit: int = 500) -> list[tuple[str, int]]:
        """(id, attempts) of deliveries nobody is sending now, oldest first."""
        rows = self._db.execute(
            select(BackchannelDelivery.id, BackchannelDelivery.attempts)
            .where(self._open(self._clock()))
            .order_by(BackchannelDelivery.created_at)
            .limit(limit)
        ).all()
        return [(r[0], r[1]) for r in rows]

    def claim(self, delivery_id: str, max_attempts: int) -> ClaimedDelivery | None:
        """Take the delivery for one attempt, or None if it is done or someone else has it."""
        now = self._clock()
        taken = execute_dml(
            self._db,
            update(BackchannelDelivery)
            .where(
                BackchannelDelivery.id == delivery_id,
                BackchannelDelivery.attempts < max_attempts,
                self._open(now),
            )
            .values(
                status="sending",
                claimed_until=now + self._claim,
                attempts=BackchannelDelivery.attempts + 1,
            )
            .execution_options(synchronize_session=False),
        )
        if taken.rowcount != 1:
            return None
        row = self._db.get(BackchannelDelivery, delivery_id)
        assert row is not None
        found = self._db.execute(
            select(
                OAuthClient.backchannel_logout_uri, OAuthClient.id_token_signed_response_alg
            ).where(OAuthClient.client_id == row.client_id)
        ).first()
        uri, alg = found if found is not None else (None, None)
        return ClaimedDelivery(
            row.id,
            uri or "",
            row.client_id,
            row.session_id,
            row.user_id,
            row.attempts,
            alg or ID_TOKEN_ALG,
        )

    def logout_token(self, delivery: ClaimedDelivery) -> str:
        """A logout token, signed like the client's ID tokens (the ring's active key of its
        algorithm): sid, sub, events; no nonce."""
        kid, key = self._ring.signing_key(delivery.alg)
        now = int(self._clock().timestamp())
        claims: dict[str, object] = {
            "iss": self._issuer,
            "aud": delivery.client_id,
            "iat": now,
            "exp": now + LOGOUT_TOKEN_TTL,
            "jti": secrets.token_urlsafe(16),
            "sid": delivery.session_id,
            "events": {LOGOUT_EVENT: {}},
        }
        if delivery.user_id:
            claims["sub"] = delivery.user_id
        header = {"alg": delivery.alg, "kid": kid, "typ": LOGOUT_TOKEN_TYP}
        return jwt.encode(header, claims, key, algorithms=[delivery.alg])

    def delivered(self, delivery: ClaimedDelivery, status: int) -> None:
        """Record a delivery the client accepted with HTTP ``status`` (committed)."""
        self._db.execute(
            update(BackchannelDelivery)
            .where(BackchannelDelivery.id == delivery.id)
            .values(status="delivered", delivered_at=self._clock(), claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        self._audit.record(
            "backchannel_logout.delivered",
            user_id=delivery.user_id,
            actor="jobs",
            client_id=delivery.client_id,
            session_id=delivery.session_id,
            attempt=delivery.attempt,
            http_status=status,
        )

    def attempt_failed(
        self, delivery: ClaimedDelivery, error: str, *, final: bool, retry_in: int = 0
    ) -> None:
        """Hold the delivery until its retry is due, or give up (kept for inspection)."""
        self._db.execute(
            update(BackchannelDelivery)
            .where(BackchannelDelivery.id == delivery.id, BackchannelDelivery.status == "sending")
            .values(
                status="failed" if final else "retrying",
                claimed_until=None if final else self._clock() + timedelta(seconds=retry_in),
                last_error=error[:MAX_ERROR],
            )
            .execution_options(synchronize_session=False)
        )
        if final:
            self._audit.record(
                "backchannel_logout.failed",
                outcome="failure",
                user_id=delivery.user_id,
                actor="jobs",
                client_id=delivery.client_id,
                session_id=delivery.session_id,
                attempts=delivery.attempt,
                error=error[:MAX_ERROR],
            )

    def give_up(self, delivery_id: str, error: str) -> bool:
        """Mark a delivery failed whose attempts are used up (its last worker died, say)."""
        changed = execute_dml(
            self._db,
            update(BackchannelDelivery)
            .where(
                BackchannelDelivery.id == delivery_id,
                BackchannelDelivery.status.in_(OPEN_STATES),
            )
            .values(status="failed", claimed_until=None, last_error=error[:MAX_ERROR])
            .execution_options(synchronize_session=False),
        )
        return changed.rowcount == 1

    def reopen(self, delivery_id: str) -> bool:
        """A failed delivery gets a fresh set of attempts (an operator's retry)."""
        changed = execute_dml(
            self._db,
            update(BackchannelDelivery)
            .where(BackchannelDelivery.id == delivery_id, BackchannelDelivery.status == "failed")
            .values(status="pending", attempts=0, claimed_until=None)
            .execution_options(synchronize_session=False),
        )
        return changed.rowcount == 1
