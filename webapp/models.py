"""SQLAlchemy models for Limen's durable state, and their invariants; nothing else.

Every identifier that leaves the server (user `sub`, session `sid`, key `kid`) is a random
string, never a sequence number. Only digests of refresh tokens, API keys and client secrets
are stored; signing keys are stored encrypted.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[int] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # The address as compared (revision 0005): NFKC, lower case, IDNA (ASCII) domain; unique,
    # so a look-alike spelling of an address cannot be a second account. NULL only for rows
    # that collided with another account when it was introduced (the migration reports them).
    email_normalized: Mapped[str | None] = mapped_column(String(320), unique=True, nullable=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # Two-step verification (TOTP): the secret is encrypted; None means not enrolled.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    mfa_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # E-mail (revision 0007): when the current address was proven by a link sent to it (None:
    # not verified), and the security notices the person turned off.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    notices_off: Mapped[list[str]] = mapped_column(JSON, default=list)

    roles: Mapped[list[Role]] = relationship(secondary="user_roles", lazy="selectin")

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(sorted(r.name for r in self.roles))


class MfaRecoveryCode(Base):
    """A one-time recovery code for two-step verification, stored as its SHA-256 digest."""

    __tablename__ = "mfa_recovery_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Passkey(Base):
    """A WebAuthn credential (a passkey) a person registered: its id and COSE public key as
    the authenticator gave them, the signature counter last seen, and the name they chose."""

    __tablename__ = "passkeys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # base64url of the raw credential id (at most 1023 bytes by WebAuthn L3: 1364 characters)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EmailToken(Base):
    """A one-time link sent by mail (verify an address, reset a password): only its SHA-256
    digest is stored; it works once, before ``expires_at``, for the address it was sent to."""

    __tablename__ = "email_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # verify | reset
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MailMessage(Base):
    """One mail owed to someone: written with the change it reports, then sent by a job.
    Subject and bodies are stored encrypted (they may hold a one-time link) and dropped once
    the mail was handed to the SMTP server."""

    __tablename__ = "mail_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    to_address: Mapped[str] = mapped_column(String(320))
    # pending | sending | retrying | sent | failed | outbox (dev mode) | dropped (mail off)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    content_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class UpstreamIdentity(Base):
    """A link from an upstream identity provider's subject to a Limen user."""

    __tablename__ = "upstream_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Consent(Base):
    """What a person allowed a client: the scopes of their latest approval (OIDC remembered
    consent), reused so a later request for no more than that needs no consent page."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE")
    )
    scope: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Session(Base):
    """Durable metadata of a sign-in session; the live record that guards tokens is in Redis."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    client_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    auth_method: Mapped[str] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The sign-in session that approved this client's grant (the OpenID Provider session):
    # when it ends, this session ends with it unless it was granted offline_access.
    auth_session_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class RefreshFamily(Base):
    """All refresh tokens descended from one issuance; reuse of any rotated one kills it."""

    __tablename__ = "refresh_families"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    client_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    family_id: Mapped[str] = mapped_column(
        ForeignKey("refresh_families.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    parent_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    successor_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|rotated|revoked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set on the old key when it is rotated: it keeps working until then.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rotated_from_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # Rotation policy (revision 0003): a successor is made this many days before expiry; the old
    # key then keeps working for rotation_grace_seconds. The successor's secret waits, encrypted,
    # until its owner collects it once.
    rotate_before_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rotation_grace_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pending_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)


class OAuthClient(Base):
    __tablename__ = "oauth_clients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_digest: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # After a rotation the previous secret keeps working until previous_secret_expires_at.
    previous_secret_digest: Mapped[str | None] = mapped_column(String(255), nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    is_trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    # A resource server an admin allowed to introspect any token (revision 0005); other
    # clients learn only about their own tokens (RFC 7662 §4).
    may_introspect: Mapped[bool] = mapped_column(Boolean, default=False)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # OIDC Back-Channel Logout 1.0 (revision 0003): where logout tokens are POSTed.
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    # OIDC Registration: how its ID tokens are signed (None: RS256, the OIDC default).
    id_token_signed_response_alg: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # A Limen extension (like Keycloak's): how its access tokens are signed (None: ES256).
    access_token_signed_response_alg: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # RP-Initiated Logout: where the browser may be sent after signing out (exact match).
    post_logout_redirect_uris: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # Secret rotation policy: a new secret every N days, waiting encrypted for an admin.
    secret_rotation_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pending_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    # RFC 9101 (revision 0010): the public keys (a JWK Set) its signed request objects are
    # verified with; RFC 9126: whether it must push its authorization requests (PAR).
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    require_pushed_authorization_requests: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class AuthorizationCode(Base):
    """An OAuth authorization code (stored as a digest), usable once."""

    __tablename__ = "oauth_authorization_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text, default="")
    nonce: Mapped[str | None] = mapped_column(String(255), nullable=True)
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(16), default="S256")
    auth_time: Mapped[int] = mapped_column(Integer)
    # The approving session's authentication context (RFC 8176 amr, space-separated; acr)
    # and the session itself (the OP session an ID token's sid names).
    amr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    auth_session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The session the first exchange created: revoked if the code is ever replayed.
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The organisation the sign-in asked to act in (``organization``): the tokens' ``org``.
    org: Mapped[str | None] = mapped_column(String(64), nullable=True)


class DeviceCode(Base):
    """An RFC 8628 device authorization: pending -> approved|denied -> consumed."""

    __tablename__ = "oauth_device_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    device_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_code: Mapped[str] = mapped_column(String(16), unique=True)
    client_id: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    interval: Mapped[int] = mapped_column(Integer, default=5)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    auth_time: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The approving session's authentication context and id (as on authorization codes).
    amr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    auth_session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SigningKey(Base):
    """One ES256 key of the ring: next -> active -> retiring -> retired."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16), default="ES256")
    state: Mapped[str] = mapped_column(String(16), index=True)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_jwk_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retiring_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEvent(Base):
    """Append-only record of security-relevant events. Rows are never updated."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_event_occurred", "event", "occurred_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="success")
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    client_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class JobRun(Base):
    """One background job (one RQ job id), with its attempts: what the jobs page shows."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_enqueued", "job", "enqueued_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the RQ job id
    job: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16))  # schedule|manual|event|retry
    status: Mapped[str] = mapped_column(String(16), index=True)
    # queued|running|retrying|succeeded|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(128), nullable=True)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class BackchannelDelivery(Base):
    """An OIDC back-channel logout owed to a client: written with the revocation, then sent."""

    __tablename__ = "backchannel_deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # pending | sending | retrying (held until claimed_until) | delivered | failed
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


# Indexes the purge and emergency-rotation jobs filter on (revision 0003).
Index("ix_sessions_expires_at", Session.expires_at)
Index("ix_sessions_last_seen_at", Session.last_seen_at)
Index("ix_refresh_families_expires_at", RefreshFamily.expires_at)


# -- authorization (webapp/authz): organisations, teams, resources, versioned policies -------
class AuthzOrg(Base):
    """An organisation (tenant): its own schema, policies, teams and resource entities."""

    __tablename__ = "authz_orgs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Bumped by every change a decision depends on (policies, members, teams, entities).
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuthzMembership(Base):
    """A person in an organisation, and in which of its teams (``team`` empty: the org only)."""

    __tablename__ = "authz_memberships"

    org_id: Mapped[str] = mapped_column(
        ForeignKey("authz_orgs.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    team: Mapped[str] = mapped_column(String(100), primary_key=True, default="")
    source: Mapped[str] = mapped_column(String(32), default="manual")


class AuthzEntity(Base):
    """A resource of an organisation as a Cedar entity: attributes and parents (hierarchy)."""

    __tablename__ = "authz_entities"

    org_id: Mapped[str] = mapped_column(
        ForeignKey("authz_orgs.id", ondelete="CASCADE"), primary_key=True
    )
    type: Mapped[str] = mapped_column(String(200), primary_key=True)
    eid: Mapped[str] = mapped_column(String(200), primary_key=True)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    parents: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)


class AuthzPolicyVersion(Base):
    """One immutable version of an organisation's schema, policies and template links.
    The newest is in force; a rollback writes a new version with an old one's content."""

    __tablename__ = "authz_policy_versions"

    org_id: Mapped[str] = mapped_column(
        ForeignKey("authz_orgs.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    schema_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    policies: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    author: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
