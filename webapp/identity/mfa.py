"""Two-step verification for local accounts: TOTP (RFC 6238, pyotp) and recovery codes.

Secrets are stored encrypted (HKDF-derived key from LIMEN_SECRET_KEY); recovery codes as
SHA-256 digests, each usable once. A TOTP code is accepted at most once (its time step is
remembered in Redis), so a code seen over someone's shoulder cannot be replayed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import cast

import pyotp
import redis
from cryptography.fernet import Fernet
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session as DbSession

from webapp.models import MfaRecoveryCode, User

from .audit import AuditLog
from .crypto import sha256_hex
from .db import after_commit, execute_dml
from .errors import InvalidCredentials, PolicyViolation
from .principal import RequestMeta

ISSUER_NAME = "Limen"
RECOVERY_CODES = 10
PENDING_KEY = "limen:mfa-enroll:{uid}"
LAST_STEP_KEY = "limen:mfa-last-step:{uid}"
TICKET_KEY = "limen:mfa-ticket:{ticket}"
PENDING_TTL = 600
TICKET_TTL = 300


def _recovery_code() -> str:
    raw = "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(16))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:16]}"


def normalize_recovery_code(value: str) -> str:
    """A recovery code as stored: lower case, alphanumerics only, in groups of four."""
    cleaned = "".join(ch for ch in value.lower() if ch.isalnum())
    return "-".join(cleaned[i : i + 4] for i in range(0, len(cleaned), 4))


class Mfa:
    """Two-step verification: TOTP enrolment, codes, recovery codes, sign-in tickets."""

    def __init__(
        self,
        db: DbSession,
        redis_client: redis.Redis,
        audit: AuditLog,
        cipher: Fernet,
        clock: Callable[[], datetime],
        required_roles: Iterable[str],
    ) -> None:
        self._db = db
        self._redis = redis_client
        self._audit = audit
        self._cipher = cipher
        self._clock = clock
        self.required_roles = frozenset(required_roles)

    # -- policy ------------------------------------------------------------------------------
    @staticmethod
    def enabled(user: User) -> bool:
        """True if the user has two-step verification turned on."""
        return user.totp_secret_encrypted is not None

    def required(self, user: User) -> bool:
        """True if one of the user's roles must use two-step verification."""
        return bool(self.required_roles & set(user.role_names))

    # -- enrolment -----------------------------------------------------------------------------
    def begin(self, user: User) -> tuple[str, str]:
        """A new secret (kept pending for 10 minutes) and its otpauth:// URI for the app."""
        if self.enabled(user):
            raise PolicyViolation("Two-step verification is already on; turn it off first.")
        secret = pyotp.random_base32()
        self._redis.set(
            PENDING_KEY.format(uid=user.id), self._cipher.encrypt(secret.encode()), ex=PENDING_TTL
        )
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER_NAME)
        return secret, uri

    def confirm(self, user: User, code: str, meta: RequestMeta | None = None) -> list[str]:
        """Turn it on once the app shows a matching code; returns recovery codes (once)."""
        blob = cast(bytes | None, self._redis.get(PENDING_KEY.format(uid=user.id)))
        if blob is None:
            raise PolicyViolation("The set-up expired; start again.")
        secret = self._cipher.decrypt(blob).decode()
        if not self._check_totp(user, secret, code):
            raise PolicyViolation("That code does not match; check the app's clock and retry.")
        user.totp_secret_encrypted = self._cipher.encrypt(secret.encode()).decode()
        user.mfa_enabled_at = self._clock()
        codes = self._new_recovery_codes(user)
        self._audit.record("mfa.enabled", user_id=user.id, actor=user.id, meta=meta)
        pending = PENDING_KEY.format(uid=user.id)
        after_commit(self._db, lambda: self._redis.delete(pending), "forget the MFA set-up")
        return codes

    def disable(self, user: User, code: str, meta: RequestMeta | None = None) -> None:
        """Turn two-step verification off; a wrong ``code`` is a ``PolicyViolation``."""
        if not self.enabled(user):
            return
        if not self.verify(user, code):
            raise PolicyViolation("That code is not valid; two-step verification stays on.")
        user.totp_secret_encrypted = None
        user.mfa_enabled_at = None
        self._db.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
        self._audit.record("mfa.disabled", user_id=user.id, actor=user.id, meta=meta)

    def _new_recovery_codes(self, user: User) -> list[str]:
        self._db.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
        codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
        self._db.add_all(
            MfaRecoveryCode(user_id=user.id, code_hash=sha256_hex(c), created_at=self._clock())
            for c in codes
        )
        return codes

    # -- verification ------------------------------------------------------------------------
    def verify(self, user: User, code: str) -> bool:
        """A current TOTP code (once per time step) or an unused recovery code."""
        if user.totp_secret_encrypted is None:
            return False
        code = (code or "").strip()
        if code.replace(" ", "").isdigit():
            secret = self._cipher.decrypt(user.totp_secret_encrypted.encode()).decode()
            return self._check_totp(user, secret, code.replace(" ", ""))
        return self._use_recovery_code(user, code)

    def _check_totp(self, user: User, secret: str, code: str) -> bool:
        totp = pyotp.TOTP(secret)
        now = self._clock()
        for drift in (0, -1, 1):  # one step of clock drift either way
            at = now.timestamp() + drift * totp.interval
            if secrets.compare_digest(totp.at(at), code):
                step = int(at // totp.interval)
                key = LAST_STEP_KEY.format(uid=user.id)
                last = cast(bytes | None, self._redis.get(key))
                if last is not None and int(last) >= step:
                    return False  # this code (or a later one) was already used
                self._redis.set(key, step, ex=totp.interval * 4)
                return True
        return False

    def _use_recovery_code(self, user: User, code: str) -> bool:
        used = execute_dml(
            self._db,
            update(MfaRecoveryCode)
            .where(
                MfaRecoveryCode.user_id == user.id,
                MfaRecoveryCode.code_hash == sha256_hex(normalize_recovery_code(code)),
                MfaRecoveryCode.used_at.is_(None),
            )
            .values(used_at=self._clock())
            .execution_options(synchronize_session=False),
        )
        if used.rowcount == 1:
            self._audit.record("mfa.recovery_code_used", user_id=user.id)
            return True
        return False

    def recovery_codes_left(self, user: User) -> int:
        """How many unused recovery codes the user has."""
        return len(
            list(
                self._db.scalars(
                    select(MfaRecoveryCode.id).where(
                        MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.used_at.is_(None)
                    )
                )
            )
        )

    # -- the second step of a sign-in ---------------------------------------------------------
    def issue_ticket(self, user: User, client_id: str) -> str:
        """A short-lived, single-use handle for 'password was right, code still needed'."""
        ticket = secrets.token_urlsafe(24)
        self._redis.set(
            TICKET_KEY.format(ticket=sha256_hex(ticket)),
            json.dumps({"uid": user.id, "cid": client_id}),
            ex=TICKET_TTL,
        )
        return ticket

    def ticket_user(self, ticket: str) -> str | None:
        """The user id of a pending sign-in ticket, leaving it unused (None if unknown)."""
        raw = cast(bytes | None, self._redis.get(TICKET_KEY.format(ticket=sha256_hex(ticket))))
        return str(json.loads(raw)["uid"]) if raw is not None else None

    def redeem_ticket(self, ticket: str) -> tuple[str, str]:
        """The (user id, client id) of a pending sign-in ticket, used once;
        ``InvalidCredentials`` if it expired or was used.
        """
        raw = cast(bytes | None, self._redis.getdel(TICKET_KEY.format(ticket=sha256_hex(ticket))))
        if raw is None:
            raise InvalidCredentials("The sign-in took too long or was already used; start again.")
        data = json.loads(raw)
        return str(data["uid"]), str(data["cid"])
