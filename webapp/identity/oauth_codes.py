"""Authorization codes (RFC 6749/7636) and device codes (RFC 8628): issue, claim once, decide.

Codes are stored as SHA-256 digests. Claiming is one conditional UPDATE, so a code can be
exchanged exactly once; a replay revokes the session the first exchange created (RFC 9700).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import redis
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from webapp.models import AuthorizationCode, DeviceCode, User

from .audit import AuditLog
from .auth_context import AuthContext
from .crypto import sha256_hex
from .db import execute_dml, keep_on_refusal
from .delegation import Holder, hand_on
from .errors import NotFound, PolicyViolation
from .principal import RequestMeta
from .revocation import Revocation

CODE_TTL = timedelta(seconds=60)
DEVICE_TTL = timedelta(minutes=10)
DEVICE_INTERVAL = 5
SLOW_DOWN_STEP = 5
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels (no words), no look-alikes
USER_CODE_RE = re.compile(f"^[{USER_CODE_ALPHABET}]{{8}}$")
POLL_KEY = "limen:device-poll:{digest}"


def normalize_user_code(value: str) -> str | None:
    """``abcd efgh``, ``ABCD-EFGH`` and ``abcdefgh`` are the same code; None if malformed."""
    cleaned = re.sub(r"[\s\-]", "", value or "").upper()
    return f"{cleaned[:4]}-{cleaned[4:]}" if USER_CODE_RE.match(cleaned) else None


def context_columns(auth: AuthContext | None) -> dict[str, Any]:
    """A code row's columns for an authentication context (auth_time 0: none known)."""
    if auth is None:
        return {"auth_time": 0, "amr": None, "acr": None}
    return {"auth_time": auth.auth_time, "amr": " ".join(auth.amr), "acr": auth.acr}


def code_context(row: AuthorizationCode | DeviceCode) -> AuthContext | None:
    """The authentication context a code row carries, if any."""
    return AuthContext.from_record({"auth_time": row.auth_time, "amr": row.amr, "acr": row.acr})


class AuthorizationCodes:
    """Authorization codes: issued hashed, claimed once; a replay revokes the session."""

    def __init__(
        self, db: DbSession, revocation: Revocation, audit: AuditLog, clock: Callable[[], datetime]
    ) -> None:
        self._db = db
        self._revocation = revocation
        self._audit = audit
        self._clock = clock

    def issue(
        self,
        *,
        code: str,
        client_id: str,
        user_id: str,
        redirect_uri: str,
        scope: str,
        nonce: str | None,
        code_challenge: str,
        code_challenge_method: str,
        auth: AuthContext | None,
        auth_session_id: str | None,
        org: str | None = None,
    ) -> None:
        """Store a code Authlib generated, as its digest, with the approving session's
        authentication context (what the tokens it buys will say about the sign-in) and the
        organisation the sign-in asked to act in."""
        now = self._clock()
        self._db.add(
            AuthorizationCode(
                code_hash=sha256_hex(code),
                client_id=client_id,
                user_id=user_id,
                redirect_uri=redirect_uri,
                scope=scope,
                nonce=nonce,
                code_challenge=code_challenge,
                code_challenge_method=code_challenge_method,
                created_at=now,
                auth_session_id=auth_session_id,
                **context_columns(auth),
                expires_at=now + CODE_TTL,
                org=org,
            )
        )

    def claim(self, code: str, client_id: str, meta: RequestMeta) -> AuthorizationCode | None:
        """The code if this is its first, timely use by its client; None otherwise."""
        row = self._db.scalar(
            select(AuthorizationCode).where(AuthorizationCode.code_hash == sha256_hex(code))
        )
        if row is None or row.client_id != client_id:
            return None
        now = self._clock()
        claimed = execute_dml(
            self._db,
            update(AuthorizationCode)
            .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False),
        )
        if claimed.rowcount == 0:
            self._db.refresh(row)
            self._audit.record(
                "oauth.code_replay",
                outcome="failure",
                user_id=row.user_id,
                client_id=client_id,
                session_id=row.session_id,
                meta=meta,
            )
            if row.session_id:
                self._revocation.revoke_session(row.session_id, reason="code_replay", meta=meta)
            keep_on_refusal(self._db)  # the replay's consequences stand
            return None
        if row.expires_at <= now:
            return None
        return row

    def bind_session(self, code_id: str, session_id: str) -> None:
        """Remember which session a code's exchange started, so a replay can revoke it."""
        self._db.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.id == code_id)
            .values(session_id=session_id)
            .execution_options(synchronize_session=False)
        )


class DeviceCodes:
    """Device authorization (RFC 8628): device and user codes, approval and polling."""

    def __init__(
        self,
        db: DbSession,
        redis_client: redis.Redis,
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._redis = redis_client
        self._audit = audit
        self._clock = clock

    def start(self, client_id: str, scope: str) -> tuple[str, DeviceCode]:
        """Start a device authorization: the device code (stored hashed) and its row."""
        now = self._clock()
        device_code = secrets.token_urlsafe(32)
        for _ in range(5):  # user codes are short: retry the rare collision
            user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
            row = DeviceCode(
                device_code_hash=sha256_hex(device_code),
                user_code=f"{user_code[:4]}-{user_code[4:]}",
                client_id=client_id,
                scope=scope,
                status="pending",
                interval=DEVICE_INTERVAL,
                created_at=now,
                expires_at=now + DEVICE_TTL,
            )
            try:
                with self._db.begin_nested():
                    self._db.add(row)
                return device_code, row
            except IntegrityError:
                continue  # only the savepoint was rolled back
        raise PolicyViolation("Could not allocate a user code; try again.")

    def by_device_code(self, device_code: str) -> DeviceCode | None:
        """The device authorization for a device code, or None."""
        return self._db.scalar(
            select(DeviceCode).where(DeviceCode.device_code_hash == sha256_hex(device_code))
        )

    def by_user_code(self, user_code: str) -> DeviceCode | None:
        """The device authorization for a user code as typed, or None."""
        normalized = normalize_user_code(user_code)
        if normalized is None:
            return None
        return self._db.scalar(select(DeviceCode).where(DeviceCode.user_code == normalized))

    def pending(self, user_code: str) -> DeviceCode:
        """The pending, unexpired request behind a user code, or NotFound with a reason."""
        row = self.by_user_code(user_code)
        if row is None:
            raise NotFound("That code is not valid. Check it against the one on your device.")
        if row.expires_at <= self._clock():
            raise NotFound("That code has expired. Start the sign-in on your device again.")
        if row.status != "pending":
            raise NotFound("That code has already been used.")
        return row

    def decide(
        self,
        user_code: str,
        user: User,
        approve: bool,
        meta: RequestMeta,
        *,
        approver: Holder,
        auth: AuthContext | None = None,
        auth_session_id: str | None = None,
    ) -> DeviceCode:
        """Approve or deny; an approval grants the part of the request ``approver`` (the
        person's own session) holds, and the device's tokens inherit that session's
        authentication context ``auth``."""
        row = self.pending(user_code)
        now = self._clock()
        decided = execute_dml(
            self._db,
            update(DeviceCode)
            .where(DeviceCode.id == row.id, DeviceCode.status == "pending")
            .values(
                status="approved" if approve else "denied",
                user_id=user.id,
                scope=" ".join(hand_on(approver, row.scope.split(), narrow=True)),
                decided_at=now,
                auth_session_id=auth_session_id,
                **context_columns(auth),
            )
            .execution_options(synchronize_session=False),
        )
        if decided.rowcount == 0:
            raise NotFound("That code has already been used.")
        self._audit.record(
            "oauth.device_" + ("approved" if approve else "denied"),
            user_id=user.id,
            client_id=row.client_id,
            meta=meta,
        )
        self._db.refresh(row)
        return row

    def polled_too_fast(self, row: DeviceCode) -> bool:
        """True when polled within the interval; the interval then grows by 5 s (RFC 8628)."""
        key = POLL_KEY.format(digest=row.device_code_hash)
        if self._redis.set(key, 1, nx=True, px=row.interval * 1000):
            return False
        row.interval += SLOW_DOWN_STEP
        keep_on_refusal(self._db)  # the longer interval holds for the next poll
        self._redis.set(key, 1, px=row.interval * 1000)
        return True

    def consume(self, row: DeviceCode) -> bool:
        """Mark an approved request used; False if another poll already took it."""
        done = execute_dml(
            self._db,
            update(DeviceCode)
            .where(DeviceCode.id == row.id, DeviceCode.status == "approved")
            .values(status="consumed")
            .execution_options(synchronize_session=False),
        )
        return done.rowcount == 1
