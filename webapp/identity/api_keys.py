"""API keys: ``limen_<prefix>_<secret><checksum>``, shown once, stored as a SHA-256 digest.

The CRC32 checksum lets secret scanners and the server reject a mistyped key without a
database hit; the prefix is a unique index, so verification is one indexed lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from webapp.models import ApiKey, User

from .audit import AuditLog
from .crypto import crc32_base62, digests_equal, random_base62, sha256_hex
from .delegation import Holder, hand_on
from .errors import InvalidToken, NotFound, PolicyViolation
from .key_usage import KeyUsage
from .principal import Principal, RequestMeta
from .rbac import ALL_PERMISSIONS
from .verify_cache import Invalidation

KEY_PATTERN = re.compile(r"^limen_([0-9A-Za-z]{8})_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$")
PREFIX_LENGTH = 8
SECRET_LENGTH = 32
LAST_USED_RESOLUTION = timedelta(minutes=1)
# The rules every front door applies (the API's models and the portal read them from here).
MAX_LIFETIME_DAYS = 366  # an API key lives at most this long; rotate it to keep it longer
MAX_GRACE_SECONDS = 30 * 86_400  # a rotated key works at most this long beside its successor
DEFAULT_GRACE_SECONDS = 86_400  # ... and this long when the caller does not say
MAX_GRACE = timedelta(seconds=MAX_GRACE_SECONDS)
MAX_LIFETIME = timedelta(days=MAX_LIFETIME_DAYS)
GRACE_RULE = f"The grace period must be between 0 seconds and {MAX_GRACE_SECONDS // 86_400} days."


def looks_like_api_key(value: str) -> bool:
    """True for values shaped like an API key (``limen_...``) rather than a refresh token."""
    return value.startswith("limen_") and not value.startswith("limen_rt_")


def format_key(prefix: str, secret: str) -> str:
    """The full key for ``prefix`` and ``secret``, its checksum appended."""
    body = f"limen_{prefix}_{secret}"
    return body + crc32_base62(body)


def parse_key(value: str) -> str:
    """The key's prefix if it is well-formed with a valid checksum, else InvalidToken."""
    match = KEY_PATTERN.match(value)
    if match is None:
        raise InvalidToken("This is not a well-formed Limen API key.", "malformed")
    prefix, secret, checksum = match.groups()
    if crc32_base62(f"limen_{prefix}_{secret}") != checksum:
        raise InvalidToken(
            "The API key's checksum does not match: it was mistyped or truncated.", "malformed"
        )
    return prefix


@dataclass(frozen=True)
class IssuedKey:
    """A key just created or rotated: its row and the secret, shown to the owner once."""

    row: ApiKey
    secret: str  # the full key; returned to the owner once and never stored


class ApiKeyService:
    """API keys: create, list, rotate with grace, revoke, and verify to a Principal."""

    def __init__(
        self,
        db: DbSession,
        audit: AuditLog,
        clock: Callable[[], datetime],
        invalidation: Invalidation,
        usage: KeyUsage,
    ) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock
        self._invalidation = invalidation
        self.usage = usage

    # -- management ----------------------------------------------------------------------
    def create(
        self,
        owner: User,
        name: str,
        scopes: Sequence[str],
        expires_at: datetime | None,
        meta: RequestMeta | None = None,
        *,
        holder: Holder,
        rotated_from: ApiKey | None = None,
    ) -> IssuedKey:
        """A new key for ``owner`` with scopes ``holder`` (the credential asking) may hand on."""
        now = self._clock()
        unknown = sorted(set(scopes) - ALL_PERMISSIONS)
        if unknown:
            raise PolicyViolation(
                f"Unknown scope(s): {', '.join(unknown)}. Known scopes: "
                f"{', '.join(sorted(ALL_PERMISSIONS))}."
            )
        chosen = list(hand_on(holder, scopes))
        if not chosen:
            raise PolicyViolation("Choose at least one scope for the key, e.g. 'profile'.")
        if expires_at is not None:
            if expires_at <= now:
                raise PolicyViolation("expires_at must be in the future.")
            if expires_at - now > MAX_LIFETIME:
                raise PolicyViolation(
                    f"An API key may live at most {MAX_LIFETIME_DAYS} days; rotate it instead."
                )
        prefix = random_base62(PREFIX_LENGTH)
        plain = format_key(prefix, random_base62(SECRET_LENGTH))
        row = ApiKey(
            user_id=owner.id,
            name=name,
            prefix=prefix,
            digest=sha256_hex(plain),
            scopes=chosen,
            created_at=now,
            expires_at=expires_at,
            rotated_from_id=rotated_from.id if rotated_from else None,
        )
        self._db.add(row)
        self._db.flush()
        self._audit.record(
            "api_key.created",
            user_id=owner.id,
            actor=owner.id,
            meta=meta,
            key_id=row.id,
            prefix=prefix,
            scopes=chosen,
        )
        return IssuedKey(row, plain)

    def list_for(self, owner_id: str) -> list[ApiKey]:
        """The owner's keys, newest first, in every state."""
        return list(
            self._db.scalars(
                select(ApiKey).where(ApiKey.user_id == owner_id).order_by(ApiKey.created_at.desc())
            )
        )

    def get_own(self, owner_id: str, key_id: str) -> ApiKey:
        """One of the owner's keys; ``NotFound`` if it does not exist or is someone else's."""
        row = self._db.get(ApiKey, key_id)
        if row is None or row.user_id != owner_id:
            raise NotFound(f"No API key with id {key_id} belongs to you.")
        return row

    def rotate(
        self,
        owner: User,
        key_id: str,
        grace: timedelta,
        meta: RequestMeta | None = None,
        *,
        holder: Holder,
    ) -> IssuedKey:
        """A successor with the same name and scopes; the old key works until the grace ends.
        The successor is a new credential: ``holder`` must hold every scope of the old key."""
        old = self.get_own(owner.id, key_id)
        now = self._clock()
        if not self._usable(old, now) or old.superseded_at is not None:
            raise PolicyViolation(
                "Only a live key that has not been rotated yet can be rotated; create a new one."
            )
        if grace < timedelta(0) or grace > MAX_GRACE:
            raise PolicyViolation(GRACE_RULE)
        expires_at = None
        if old.expires_at is not None:
            expires_at = now + min(old.expires_at - old.created_at, MAX_LIFETIME)
        issued = self.create(
            owner, old.name, old.scopes, expires_at, meta, holder=holder, rotated_from=old
        )
        old.superseded_at = now
        old.grace_until = now + grace
        # cached copies would outlive the grace
        self._invalidation.after_commit(self._db, "api_key.rotated")
        self._audit.record(
            "api_key.rotated",
            user_id=owner.id,
            actor=owner.id,
            meta=meta,
            key_id=old.id,
            successor_id=issued.row.id,
            grace_seconds=int(grace.total_seconds()),
        )
        return issued

    def revoke(self, owner_id: str, key_id: str, meta: RequestMeta | None = None) -> ApiKey:
        """Revoke one of the owner's keys; revoking it again changes nothing."""
        row = self.get_own(owner_id, key_id)
        if row.revoked_at is None:
            row.revoked_at = self._clock()
            self._audit.record(
                "api_key.revoked", user_id=owner_id, actor=owner_id, meta=meta, key_id=row.id
            )
            self._invalidation.after_commit(self._db, "api_key.revoked")
        return row

    # -- verification ----------------------------------------------------------------------
    @staticmethod
    def _usable(row: ApiKey, now: datetime) -> bool:
        if row.revoked_at is not None:
            return False
        if row.expires_at is not None and row.expires_at <= now:
            return False
        return not (row.grace_until is not None and row.grace_until <= now)

    def status(self, row: ApiKey) -> str:
        """The key's state now: active, grace, rotated, revoked or expired."""
        now = self._clock()
        if row.revoked_at is not None:
            return "revoked"
        if row.expires_at is not None and row.expires_at <= now:
            return "expired"
        if row.grace_until is not None:
            return "rotated" if row.grace_until <= now else "grace"
        return "active"

    def verify(self, value: str) -> Principal:
        """The Principal a full API key speaks for; ``InvalidToken`` (with a cause) if it
        does not verify. Digests are compared in constant time.
        """
        prefix = parse_key(value)
        found = self._db.execute(
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.prefix == prefix)
        ).first()
        if found is None or not digests_equal(found[0].digest, sha256_hex(value)):
            raise InvalidToken("The API key is not valid.", "unknown_key")
        key, owner = found
        now = self._clock()
        if key.revoked_at is not None:
            raise InvalidToken("The API key has been revoked.", "revoked")
        if key.expires_at is not None and key.expires_at <= now:
            raise InvalidToken("The API key has expired; create or rotate one.", "expired")
        if key.grace_until is not None and key.grace_until <= now:
            raise InvalidToken(
                "The API key was rotated and its grace period is over; use its successor.",
                "rotated",
            )
        if not owner.is_active:
            raise InvalidToken("The API key's owner is disabled.", "revoked")
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            # Noted in Redis, never written here: the api_keys.flush_usage job writes it to
            # the database (key_usage.py), so a verification is one read and no commit.
            self.usage.note(key.id, now)
        return Principal(
            sub=owner.id,
            roles=owner.role_names,
            scopes=frozenset(key.scopes),
            auth_method="api_key",
            credential="api_key",
            email=owner.email,
            api_key_id=key.id,
            expires_at=key.expires_at,
            valid_until=min(
                (t for t in (key.expires_at, key.grace_until) if t is not None), default=None
            ),
        )
