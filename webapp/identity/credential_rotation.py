"""Scheduled rotation of API keys and client secrets that carry a rotation policy.

A due credential gets a successor through the same ``rotate`` its owner would call; the old one
keeps working for its grace period (API keys) or overlap (client secrets), then dies. The
successor's secret cannot be shown to anyone at that moment, so it waits encrypted at rest
(Fernet, key derived from LIMEN_SECRET_KEY) until its owner collects it, exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.fernet import Fernet
from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from webapp.models import ApiKey, OAuthClient, User

from .api_keys import DEFAULT_GRACE_SECONDS, GRACE_RULE, MAX_GRACE, ApiKeyService
from .audit import AuditLog
from .clients import MAX_SECRET_OVERLAP, ClientRegistry
from .db import execute_dml
from .delegation import OPERATOR, Holder, hand_on
from .errors import NotFound, PolicyViolation

MAX_ROTATE_BEFORE_DAYS = 90  # a key's successor is made at most this many days ahead
MAX_SECRET_ROTATION_DAYS = 366  # a client secret is rotated at least once in this many days


@dataclass(frozen=True)
class Expiring:
    """A key that ends soon: days left, and whether a successor waits to be collected."""

    key: ApiKey
    days_left: float
    successor_ready: bool


class CredentialRotation:
    """Scheduled rotation of API keys and client secrets; each successor is collected once."""

    def __init__(
        self,
        db: DbSession,
        api_keys: ApiKeyService,
        clients: ClientRegistry,
        audit: AuditLog,
        clock: Callable[[], datetime],
        cipher: Fernet,
    ) -> None:
        self._db = db
        self._api_keys = api_keys
        self._clients = clients
        self._audit = audit
        self._clock = clock
        self._cipher = cipher

    # -- API keys --------------------------------------------------------------------------
    def set_api_key_policy(
        self,
        owner_id: str,
        key_id: str,
        rotate_before_days: int | None,
        grace_seconds: int = DEFAULT_GRACE_SECONDS,
    ) -> ApiKey:
        """Rotate this key ``rotate_before_days`` before it expires (None: no policy)."""
        key = self._api_keys.get_own(owner_id, key_id)
        if rotate_before_days is not None:
            if key.expires_at is None:
                raise PolicyViolation("Only a key with an expiry can be rotated before it.")
            if not 1 <= rotate_before_days <= MAX_ROTATE_BEFORE_DAYS:
                raise PolicyViolation(
                    f"rotate_before_days must be between 1 and {MAX_ROTATE_BEFORE_DAYS}."
                )
            if not 0 <= grace_seconds <= MAX_GRACE.total_seconds():
                raise PolicyViolation(GRACE_RULE)
        key.rotate_before_days = rotate_before_days
        key.rotation_grace_seconds = grace_seconds if rotate_before_days is not None else None
        self._audit.record(
            "api_key.rotation_policy_set",
            user_id=owner_id,
            actor=owner_id,
            key_id=key.id,
            rotate_before_days=rotate_before_days,
        )
        return key

    def due_api_keys(self, limit: int = 200) -> list[str]:
        """Keys that may be due for their successor, soonest first. The caller rotates each
        with :meth:`rotate_api_key` in a unit of work of its own (one key's failure is not
        another's)."""
        now = self._clock()
        horizon = now + timedelta(days=MAX_ROTATE_BEFORE_DAYS)
        candidates = list(
            self._db.scalars(
                select(ApiKey.id)
                .where(
                    ApiKey.rotate_before_days.is_not(None),
                    ApiKey.revoked_at.is_(None),
                    ApiKey.superseded_at.is_(None),
                    ApiKey.expires_at > now,
                    ApiKey.expires_at <= horizon,
                )
                .order_by(ApiKey.expires_at)
                .limit(limit)
            )
        )
        return candidates

    def _lock(self, model: type[ApiKey] | type[OAuthClient], row_id: str) -> bool:
        """Write-lock one row (the caller's unit of work starts here), so concurrent runs take
        turns and the second one re-reads what the first committed (it then finds nothing due)."""
        touched = execute_dml(
            self._db,
            update(model)
            .where(model.id == row_id)
            .values(id=model.id)
            .execution_options(synchronize_session=False),
        )
        return touched.rowcount == 1

    def rotate_api_key(self, key_id: str) -> tuple[str, str] | None:
        """Give one key its successor if its rotation is due: (old id, successor id), or None
        when it is not (or no longer) due."""
        now = self._clock()
        if not self._lock(ApiKey, key_id):
            return None
        key = self._db.get(ApiKey, key_id, populate_existing=True)
        if key is None or key.expires_at is None or key.rotate_before_days is None:
            return None
        if key.superseded_at is not None or key.revoked_at is not None:
            return None
        if key.expires_at - timedelta(days=key.rotate_before_days) > now:
            return None
        owner = self._db.get(User, key.user_id)
        if owner is None or not owner.is_active:
            return None
        grace = timedelta(seconds=key.rotation_grace_seconds or DEFAULT_GRACE_SECONDS)
        # A key whose owner's roles shrank gets no successor: rotate() refuses scopes the
        # owner's roles no longer allow.
        issued = self._api_keys.rotate(
            owner, key.id, grace, holder=Holder.roles_of(owner.role_names, "the owner's roles")
        )
        issued.row.rotate_before_days = key.rotate_before_days
        issued.row.rotation_grace_seconds = key.rotation_grace_seconds
        issued.row.pending_secret_encrypted = self._cipher.encrypt(issued.secret.encode()).decode()
        self._audit.record(
            "api_key.auto_rotated",
            user_id=owner.id,
            actor="jobs",
            key_id=key.id,
            successor_id=issued.row.id,
        )
        return key.id, issued.row.id

    def collect_api_key_secret(self, owner_id: str, key_id: str, *, holder: Holder) -> str:
        """The successor key made by a scheduled rotation, returned once to its owner, through
        a credential (``holder``) that holds every scope of that key."""
        key = self._api_keys.get_own(owner_id, key_id)
        hand_on(holder, key.scopes)
        blob = key.pending_secret_encrypted
        if blob is None:
            raise NotFound("This key has no successor secret waiting (already collected?).")
        taken = execute_dml(
            self._db,
            update(ApiKey)
            .where(ApiKey.id == key.id, ApiKey.pending_secret_encrypted == blob)
            .values(pending_secret_encrypted=None)
            .execution_options(synchronize_session=False),
        )
        if taken.rowcount != 1:
            raise NotFound("This key's secret was just collected by another request.")
        self._audit.record(
            "api_key.successor_collected", user_id=owner_id, actor=owner_id, key_id=key.id
        )
        return self._cipher.decrypt(blob.encode()).decode()

    def upcoming_api_key_expiries(self, owner_id: str, within_days: int = 14) -> list[Expiring]:
        """The owner's live keys that expire (or end their grace) within ``within_days``."""
        now = self._clock()
        horizon = now + timedelta(days=within_days)
        out = []
        for key in self._api_keys.list_for(owner_id):
            if self._api_keys.status(key) not in ("active", "grace"):
                continue
            ends = [d for d in (key.expires_at, key.grace_until) if d is not None]
            if not ends or min(ends) > horizon:
                continue
            out.append(
                Expiring(
                    key, (min(ends) - now).total_seconds() / 86_400, key.superseded_at is not None
                )
            )
        return sorted(out, key=lambda e: e.days_left)

    # -- client secrets --------------------------------------------------------------------
    def set_client_secret_policy(
        self, client_id: str, rotation_days: int | None, actor: str | None = None
    ) -> OAuthClient:
        """Rotate a confidential client's secret every ``rotation_days`` (None: never)."""
        client = self._clients.require(client_id)
        if client.is_public:
            raise PolicyViolation("Public clients have no secret to rotate.")
        if rotation_days is not None and not 1 <= rotation_days <= MAX_SECRET_ROTATION_DAYS:
            raise PolicyViolation(
                f"secret_rotation_days must be between 1 and {MAX_SECRET_ROTATION_DAYS}."
            )
        client.secret_rotation_days = rotation_days
        self._audit.record(
            "client.secret_rotation_policy_set",
            actor=actor,
            client_id=client_id,
            rotation_days=rotation_days,
        )
        return client

    def due_client_secrets(self, limit: int = 200) -> list[str]:
        """Confidential clients with a rotation policy (row ids); the caller rotates each with
        :meth:`rotate_client_secret` in a unit of work of its own."""
        return list(
            self._db.scalars(
                select(OAuthClient.id)
                .where(
                    OAuthClient.secret_rotation_days.is_not(None),
                    OAuthClient.disabled_at.is_(None),
                    OAuthClient.is_public.is_(False),
                )
                .limit(limit)
            )
        )

    def rotate_client_secret(self, row_id: str, overlap: timedelta) -> str | None:
        """A new secret for one client if its rotation is due (its client id), else None."""
        now = self._clock()
        if not self._lock(OAuthClient, row_id):
            return None
        client = self._db.get(OAuthClient, row_id, populate_existing=True)
        if client is None:
            return None
        since = client.secret_rotated_at or client.created_at
        if client.secret_rotation_days is None or now - since < timedelta(
            days=client.secret_rotation_days
        ):
            return None
        # The new secret goes to no one here: it waits until an admin collects it, and
        # the collecting credential must hold the client's rights (collect_client_secret).
        secret = self._clients.rotate_secret(
            client.client_id, min(overlap, MAX_SECRET_OVERLAP), actor="jobs", holder=OPERATOR
        )
        client.secret_rotated_at = now
        client.pending_secret_encrypted = self._cipher.encrypt(secret.encode()).decode()
        self._audit.record("client.secret_auto_rotated", actor="jobs", client_id=client.client_id)
        return client.client_id

    def collect_client_secret(
        self, client_id: str, actor: str | None = None, *, holder: Holder
    ) -> str:
        """A secret a scheduled rotation made, returned once, through a credential that holds
        the client's scopes and rights."""
        client = self._clients.require(client_id)
        self._clients.check_rights(holder, client.scopes, client.may_introspect)
        blob = client.pending_secret_encrypted
        if blob is None:
            raise NotFound("No rotated secret is waiting for this client.")
        taken = execute_dml(
            self._db,
            update(OAuthClient)
            .where(OAuthClient.id == client.id, OAuthClient.pending_secret_encrypted == blob)
            .values(pending_secret_encrypted=None)
            .execution_options(synchronize_session=False),
        )
        if taken.rowcount != 1:
            raise NotFound("This client's secret was just collected by another request.")
        self._audit.record("client.secret_collected", actor=actor, client_id=client_id)
        return self._cipher.decrypt(blob.encode()).decode()

    def clear_expired_client_secrets(self) -> int:
        """Forget previous secrets whose overlap has ended (they no longer verify anyway)."""
        cleared = execute_dml(
            self._db,
            update(OAuthClient)
            .where(OAuthClient.previous_secret_expires_at <= self._clock())
            .values(previous_secret_digest=None, previous_secret_expires_at=None)
            .execution_options(synchronize_session=False),
        )
        return cleared.rowcount
