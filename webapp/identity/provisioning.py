"""Just-in-time provisioning of people who sign in through an upstream identity provider.

One transaction: find the user by (provider, subject); else link by verified email when the
provider allows it; else create user + identity. Roles follow the provider's groups on every
sign-in, so a removed admin mapping removes the role. Anything failing leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from webapp.models import Role, UpstreamIdentity, User

from .audit import AuditLog
from .emails import Address, EmailPolicy, user_by_email
from .errors import AccountDisabled, PolicyViolation
from .principal import RequestMeta
from .revocation import Revocation


@dataclass(frozen=True)
class RolePolicy:
    """How upstream groups map to Limen roles, and whether to link by email."""

    role_map: dict[str, str] = field(default_factory=dict)  # upstream group -> Limen role
    default_role: str | None = "analyst"
    link_by_email: bool = False
    teams_org: str | None = None  # the organisation whose teams follow the groups

    def roles_for(self, groups: Iterable[str]) -> list[str]:
        """The Limen roles for upstream ``groups``, sorted; the default role if none map."""
        mapped = {self.role_map[g] for g in groups if g in self.role_map}
        if not mapped and self.default_role:
            mapped = {self.default_role}
        return sorted(mapped)


@dataclass(frozen=True)
class UpstreamProfile:
    """A verified identity from an upstream provider."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str = ""
    groups: tuple[str, ...] = ()


class Provisioner:
    """Just-in-time users from upstream identities, in one transaction."""

    def __init__(
        self,
        db: DbSession,
        revocation: Revocation,
        audit: AuditLog,
        clock: Callable[[], datetime],
        emails: EmailPolicy,
        bootstrap_admins: Iterable[str] = (),
    ) -> None:
        self._db = db
        self._revocation = revocation
        self._audit = audit
        self._clock = clock
        self._emails = emails
        keys = (emails.key_or_none(e) for e in bootstrap_admins if e.strip())
        self._bootstrap = {k for k in keys if k}

    def sign_in(
        self, profile: UpstreamProfile, policy: RolePolicy, meta: RequestMeta | None = None
    ) -> User:
        """The Limen user behind an upstream identity, created or updated in one commit."""
        if not profile.email or not profile.email_verified:
            raise PolicyViolation(
                f"{profile.provider} did not give a verified email address; verify it there "
                "and sign in again."
            )
        address = self._emails.normalize(profile.email)
        roles = policy.roles_for(profile.groups)
        if address.key in self._bootstrap:
            roles = sorted(set(roles) | {"admin"})
        if not roles:
            raise PolicyViolation(
                f"Your {profile.provider} account is not in a group that may use Limen; ask "
                "an administrator for access."
            )
        with self._db.begin_nested():  # all of it or, on a refusal, none of it
            user, before = self._find_or_create(profile, address, policy.link_by_email)
            if not user.is_active:
                raise AccountDisabled("This account is disabled. Ask an administrator.")
            user.roles = list(self._db.scalars(select(Role).where(Role.name.in_(roles))))
            user.last_login_at = self._clock()
            if user.email_verified_at is None and user.email_normalized == address.key:
                user.email_verified_at = user.last_login_at  # the provider vouched for it
            if profile.name and not user.display_name:
                user.display_name = profile.name[:200]
            self._audit.record(
                "login.success",
                user_id=user.id,
                meta=meta,
                method=f"upstream:{profile.provider}",
                roles=roles,
            )
        if set(before) - set(roles):  # lost a role upstream: end sessions that claim it
            self._revocation.revoke_user(user.id, reason="role_removed", meta=meta)
        return user

    def _find_or_create(
        self, profile: UpstreamProfile, address: Address, may_link: bool
    ) -> tuple[User, list[str]]:
        now = self._clock()
        email = address.display
        identity = self._db.scalar(
            select(UpstreamIdentity).where(
                UpstreamIdentity.provider == profile.provider,
                UpstreamIdentity.subject == profile.subject,
            )
        )
        if identity is not None:
            user = self._db.get(User, identity.user_id)
            assert user is not None  # the foreign key guarantees it
            identity.email, identity.email_verified = email, profile.email_verified
            identity.last_login_at = now
            return user, list(user.role_names)
        user = user_by_email(self._db, address.key, email)
        if user is not None and not may_link:
            raise PolicyViolation(
                f"An account with {email} already exists and is not linked to "
                f"{profile.provider}; sign in with your password, or ask an administrator."
            )
        before: list[str] = list(user.role_names) if user else []
        if user is None:
            user = User(
                email=email,
                email_normalized=address.key,
                display_name=profile.name[:200],
                password_hash=None,
                created_at=now,
            )
            self._db.add(user)
            self._db.flush()
            self._audit.record(
                "user.created", user_id=user.id, actor=f"upstream:{profile.provider}"
            )
        self._db.add(
            UpstreamIdentity(
                user_id=user.id,
                provider=profile.provider,
                subject=profile.subject,
                email=email,
                email_verified=profile.email_verified,
                created_at=now,
                last_login_at=now,
            )
        )
        self._db.flush()
        return user, before
