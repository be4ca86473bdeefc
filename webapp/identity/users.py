"""People administration and self-service sessions: search, roles, lock, disable, sign out.

Every change that narrows what someone may do (role removed, locked, disabled) revokes their
live sessions at once, because access tokens carry roles and live until they expire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session as DbSession

from webapp.models import OAuthClient, Role, Session, User

from .audit import AuditLog
from .delegation import Holder, hand_on
from .errors import NotFound, PolicyViolation
from .principal import RequestMeta
from .rbac import permissions_for
from .revocation import Revocation
from .sessions import SessionStore

# An administrator's lock has no end; it is stored as a date no timed lockout reaches.
ADMIN_LOCK = datetime(9999, 12, 31, tzinfo=UTC)
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    """One page of users and the total that matched."""

    items: list[User]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the matches fill (at least one)."""
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class LiveSession:
    """A live session and the name of the client that holds it."""

    row: Session
    client_name: str


def is_admin_lock(locked_until: datetime | None) -> bool:
    """True if the lock was set by an administrator rather than by failed sign-ins."""
    return locked_until is not None and locked_until >= ADMIN_LOCK


class UserDirectory:
    """People administration: search, roles, lock and unlock, enable and disable."""

    def __init__(
        self,
        db: DbSession,
        revocation: Revocation,
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._revocation = revocation
        self._audit = audit
        self._clock = clock

    def search(self, text: str | None, page: int = 1, per_page: int = 25) -> Page:
        """Users whose email or name contains ``text``, by email, one page."""
        per_page = max(1, min(per_page, MAX_PAGE_SIZE))
        page = max(1, page)
        query = select(User)
        if text:
            pattern = f"%{text.strip().lower()}%"
            query = query.where(
                or_(User.email.like(pattern), func.lower(User.display_name).like(pattern))
            )
        total = self._db.scalar(select(func.count()).select_from(query.subquery())) or 0
        items = list(
            self._db.scalars(
                query.order_by(User.email).offset((page - 1) * per_page).limit(per_page)
            )
        )
        return Page(items, total, page, per_page)

    def find(self, user_id: str) -> User | None:
        """The user with this id, or None."""
        return self._db.get(User, user_id)

    def get(self, user_id: str) -> User:
        """The user with this id; ``NotFound`` otherwise."""
        user = self._db.get(User, user_id)
        if user is None:
            raise NotFound(f"No user with id {user_id}.")
        return user

    def emails(self, user_ids: Iterable[str]) -> dict[str, str]:
        """The address of each of these users (ids that name no one are left out)."""
        wanted = set(user_ids)
        if not wanted:
            return {}
        rows = self._db.execute(select(User.id, User.email).where(User.id.in_(wanted)))
        return dict(rows.tuples().all())

    def set_roles(
        self,
        user_id: str,
        roles: Sequence[str],
        *,
        actor: str,
        holder: Holder,
        meta: RequestMeta | None = None,
    ) -> User:
        """Set a person's roles. Giving a role hands on its permissions: ``holder`` (the
        credential asking) must hold every permission of a role it adds."""
        user = self.get(user_id)
        wanted = sorted(set(roles))
        if not wanted:
            raise PolicyViolation("A user needs at least one role.")
        rows = list(self._db.scalars(select(Role).where(Role.name.in_(wanted))))
        if len(rows) != len(wanted) or "service" in wanted:
            raise PolicyViolation(f"Unknown role in {', '.join(wanted)}; use admin or analyst.")
        hand_on(holder, permissions_for(set(wanted) - set(user.role_names)))
        if user.id == actor and "admin" in user.role_names and "admin" not in wanted:
            raise PolicyViolation("You cannot remove your own admin role; ask another admin.")
        removed = set(user.role_names) - set(wanted)
        added = set(wanted) - set(user.role_names)
        user.roles = rows
        self._audit.record(
            "user.roles_changed",
            user_id=user.id,
            actor=actor,
            meta=meta,
            roles=wanted,
            removed=sorted(removed),
        )
        # Tokens carry roles, and a refresh never widens what a session was given: end the
        # sessions that claim the old ones, either way, so the change holds at once and the
        # person's next sign-in carries it (revoke_user also makes every process forget the
        # API keys it verified, which pick up the new roles on their next use).
        if removed:
            self._revocation.revoke_user(user.id, reason="role_removed", actor=actor, meta=meta)
        elif added:
            self._revocation.revoke_user(user.id, reason="role_added", actor=actor, meta=meta)
        return user

    def lock(self, user_id: str, *, actor: str, meta: RequestMeta | None = None) -> User:
        """Lock a user until an admin unlocks them and revoke all their sessions."""
        user = self._guard_self(user_id, actor, "lock")
        user.locked_until = ADMIN_LOCK
        self._audit.record("user.locked", user_id=user.id, actor=actor, meta=meta)
        self._revocation.revoke_user(user.id, reason="locked", actor=actor, meta=meta)
        return user

    def unlock(self, user_id: str, *, actor: str, meta: RequestMeta | None = None) -> User:
        """Unlock a user and reset their failed sign-in count."""
        user = self.get(user_id)
        user.locked_until = None
        user.failed_login_count = 0
        self._audit.record("user.unlocked", user_id=user.id, actor=actor, meta=meta)
        return user

    def set_active(
        self, user_id: str, active: bool, *, actor: str, meta: RequestMeta | None = None
    ) -> User:
        """Enable or disable a user; disabling revokes all their sessions."""
        user = self._guard_self(user_id, actor, "disable") if not active else self.get(user_id)
        user.is_active = active
        self._audit.record(
            "user.enabled" if active else "user.disabled", user_id=user.id, actor=actor, meta=meta
        )
        if not active:
            self._revocation.revoke_user(user.id, reason="user_disabled", actor=actor, meta=meta)
        return user

    def _guard_self(self, user_id: str, actor: str, verb: str) -> User:
        if user_id == actor:
            raise PolicyViolation(f"You cannot {verb} your own account.")
        return self.get(user_id)


class SessionDirectory:
    """A person's own live sessions, and signing them out."""

    def __init__(
        self,
        db: DbSession,
        sessions: SessionStore,
        revocation: Revocation,
        clock: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._sessions = sessions
        self._revocation = revocation
        self._clock = clock

    def live(self, user_id: str) -> list[LiveSession]:
        """The user's sessions that are live (in Redis), most recently used first."""
        rows = self._db.execute(
            select(Session, OAuthClient.name)
            .outerjoin(OAuthClient, OAuthClient.client_id == Session.client_id)
            .where(
                Session.user_id == user_id,
                Session.revoked_at.is_(None),
                Session.expires_at > self._clock(),
            )
            .order_by(Session.last_seen_at.desc())
        ).all()
        return [
            LiveSession(row, name or (row.client_id or "unknown"))
            for row, name in rows
            if self._sessions.exists(row.id)
        ]

    def revoke(self, user_id: str, sid: str, meta: RequestMeta | None = None) -> None:
        """End one of the user's sessions; ``NotFound`` if it is not theirs."""
        row = self._db.get(Session, sid)
        if row is None or row.user_id != user_id:
            raise NotFound("No such session of yours.")
        self._revocation.revoke_session(sid, reason="signed_out_by_user", actor=user_id, meta=meta)

    def revoke_others(
        self, user_id: str, current_sid: str | None, meta: RequestMeta | None = None
    ) -> int:
        """End every session of the user except ``current_sid``; answers how many."""
        count = 0
        for live in self.live(user_id):
            if live.row.id != current_sid:
                count += self._revocation.revoke_session(
                    live.row.id,
                    reason="signed_out_elsewhere",
                    actor=user_id,
                    meta=meta,
                    invalidate=False,
                )
        self._revocation.invalidate("signed_out_elsewhere")
        return count
