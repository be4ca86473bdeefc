"""Request and response schemas, defined once: they validate bodies and generate OpenAPI."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from webapp.identity import rbac
from webapp.identity.api_keys import DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS, MAX_LIFETIME_DAYS
from webapp.identity.clients import (
    DEFAULT_SECRET_OVERLAP_SECONDS,
    GRANT_TYPES,
    MAX_SECRET_OVERLAP_SECONDS,
)
from webapp.identity.credential_rotation import MAX_ROTATE_BEFORE_DAYS, MAX_SECRET_ROTATION_DAYS

if TYPE_CHECKING:  # the type checker sees plain strings; pydantic checks them against the lists
    PermissionName = str
    RoleName = str
    GrantName = str
else:
    PermissionName = Literal[rbac.PERMISSIONS]
    RoleName = Literal[rbac.PERSON_ROLES]
    GrantName = Literal[GRANT_TYPES]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- /auth ---------------------------------------------------------------------------------
class RegisterRequest(Strict):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    display_name: str = Field("", max_length=200)


class LoginRequest(Strict):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    client_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$",
        description="A trusted first-party client, e.g. limen-cli.",
    )
    otp: str | None = Field(
        None,
        min_length=6,
        max_length=32,
        description="The one-time code (or a recovery code) when the account uses two-step "
        "verification; without it such an account answers 401 mfa-required.",
    )


class RefreshRequest(Strict):
    refresh_token: str | None = Field(None, min_length=1, max_length=200)
    # Switch the session to act in this organisation ("": in none); see docs/authorization.md.
    organization: str | None = Field(None, max_length=64)


class LogoutRequest(Strict):
    refresh_token: str | None = Field(None, min_length=1, max_length=200)


class TokenResponse(Out):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (RFC 6750 token type)
    expires_in: int
    expires_at: int
    refresh_token: str | None
    scope: str
    session_id: str
    csrf_token: str = Field(description="Send as X-CSRFToken with cookie-authenticated writes.")


class CsrfResponse(Out):
    csrf_token: str


class UserOut(Out):
    id: str
    email: str
    display_name: str
    roles: list[str]
    created_at: datetime


class RegistrationPending(Out):
    """The answer to a registration when addresses must be verified: the same whether or not
    the address already had an account (its owner gets a notice instead of a second one)."""

    status: Literal["verification-sent"]
    email: str
    detail: str


# -- /api/v1 ---------------------------------------------------------------------------------
class MeResponse(Out):
    sub: str
    email: str | None
    display_name: str | None
    roles: list[str]
    scopes: list[str]
    permissions: list[str]
    client_id: str | None
    session_id: str | None
    auth_method: str
    credential: str
    api_key_id: str | None
    expires_at: datetime | None
    # How the person signed in (RFC 8176 amr, acr, epoch auth_time); empty for services.
    amr: list[str] = []
    acr: str | None = None
    auth_time: int | None = None
    # The organisation the session acts in (the token's org claim); see GET /me/orgs.
    org: str | None = None


class MyOrg(Out):
    id: str
    name: str
    teams: list[str]
    current: bool  # the organisation this credential acts in (its org claim)


class MyOrgList(Out):
    items: list[MyOrg]
    current: str | None


class ApiKeyCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[PermissionName] = Field(min_length=1, max_length=32)
    expires_in_days: int | None = Field(None, ge=1, le=MAX_LIFETIME_DAYS)
    expires_at: datetime | None = None

    @model_validator(mode="after")
    def _one_expiry(self) -> ApiKeyCreate:
        if self.expires_in_days is not None and self.expires_at is not None:
            raise ValueError("give expires_in_days or expires_at, not both")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at needs a timezone, e.g. 2027-01-31T00:00:00Z")
        return self

    def expiry(self, now: datetime) -> datetime | None:
        """When the key expires: ``expires_in_days`` from ``now``, or ``expires_at``, or never."""
        if self.expires_in_days is not None:
            return now + timedelta(days=self.expires_in_days)
        return self.expires_at


class ApiKeyRotate(Strict):
    grace_seconds: int = Field(DEFAULT_GRACE_SECONDS, ge=0, le=MAX_GRACE_SECONDS)


class ApiKeyOut(Out):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    status: Literal["active", "grace", "rotated", "revoked", "expired"]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    grace_until: datetime | None
    rotated_from_id: str | None
    rotate_before_days: int | None = Field(
        None, description="A successor is made this many days before expiry (a policy)."
    )
    successor_ready: bool = Field(
        False, description="A scheduled rotation made this key; collect its secret once."
    )


class ApiKeyPolicy(Strict):
    rotate_before_days: int | None = Field(None, ge=1, le=MAX_ROTATE_BEFORE_DAYS)
    grace_seconds: int = Field(7 * 86_400, ge=0, le=MAX_GRACE_SECONDS)


class ApiKeySecret(Out):
    key: str = Field(description="The successor's full key. Shown once.")


class ApiKeyIssued(ApiKeyOut):
    key: str = Field(description="The full API key. Shown once; store it now.")


class ApiKeyList(Out):
    items: list[ApiKeyOut]


class ProblemOut(BaseModel):
    type: str
    title: str
    status: int
    detail: str


class ClientCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    grant_types: list[GrantName] = Field(min_length=1, max_length=len(GRANT_TYPES))
    scopes: list[str] = Field(default_factory=list, max_length=32)
    redirect_uris: list[str] = Field(default_factory=list, max_length=10)
    public: bool = False
    trusted: bool = False
    introspect: bool = Field(
        False,
        description="A resource server that may introspect any token (RFC 7662); others learn "
        "only about their own tokens. Needs users:read to give.",
    )
    backchannel_logout_uri: str | None = Field(
        None,
        max_length=2000,
        description="OIDC Back-Channel Logout: where logout tokens are POSTed (https).",
    )
    id_token_signed_response_alg: Literal["RS256", "ES256", "EdDSA"] | None = Field(
        None, description="How this client's ID tokens are signed (default RS256)."
    )
    access_token_signed_response_alg: Literal["ES256", "RS256", "EdDSA"] | None = Field(
        None,
        description="How this client's access tokens are signed (default ES256); a Limen "
        "extension, like Keycloak's client attribute of the same name.",
    )
    post_logout_redirect_uris: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="RP-Initiated Logout: where the browser may return after signing out "
        "(exact match).",
    )
    jwks: dict[str, Any] | None = Field(
        None,
        description="RFC 9101: the public keys (a JWK Set; RSA 2048+, EC P-256 or Ed25519) "
        "its signed request objects are verified with.",
    )
    require_pushed_authorization_requests: bool = Field(
        False,
        description="RFC 9126: its authorization requests must be pushed to the "
        "pushed_authorization_request_endpoint first.",
    )


class ClientSecretPolicy(Strict):
    rotation_days: int | None = Field(None, ge=1, le=MAX_SECRET_ROTATION_DAYS)


class ClientSecret(Out):
    client_id: str
    client_secret: str = Field(description="The rotated secret. Shown once.")


class ClientRotate(Strict):
    overlap_seconds: int = Field(
        DEFAULT_SECRET_OVERLAP_SECONDS, ge=0, le=MAX_SECRET_OVERLAP_SECONDS
    )


class ClientOut(Out):
    client_id: str
    name: str
    public: bool
    trusted: bool
    introspect: bool = False
    grant_types: list[str]
    scopes: list[str]
    redirect_uris: list[str]
    created_at: datetime
    previous_secret_expires_at: datetime | None
    backchannel_logout_uri: str | None = None
    secret_rotation_days: int | None = None
    rotated_secret_ready: bool = False
    id_token_signed_response_alg: str = "RS256"  # noqa: S105 (an algorithm name)
    access_token_signed_response_alg: str = "ES256"  # noqa: S105 (an algorithm name)
    post_logout_redirect_uris: list[str] = []
    jwks: dict[str, Any] | None = None
    require_pushed_authorization_requests: bool = False


class ClientIssued(ClientOut):
    client_secret: str | None = Field(description="Shown once (confidential clients only).")


class ClientList(Out):
    items: list[ClientOut]


class UserAdminOut(Out):
    id: str
    email: str
    display_name: str
    roles: list[str]
    active: bool
    locked: bool
    locked_by_admin: bool
    last_login_at: datetime | None
    created_at: datetime


class UserPage(Out):
    items: list[UserAdminOut]
    total: int
    page: int
    per_page: int


class MePatch(Strict):
    display_name: str = Field(max_length=200, description="Your name as shown; empty clears it.")


class ProfileOut(Out):
    sub: str
    email: str
    display_name: str


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)
    end_other_sessions: bool = Field(
        False, description="Sign out every other session of yours (this one stays)."
    )


class PasswordChanged(Out):
    other_sessions_ended: int


class UserPatch(Strict):
    roles: list[RoleName] | None = Field(None, min_length=1, max_length=len(rbac.PERSON_ROLES))
    locked: bool | None = None
    active: bool | None = None


class SessionOut(Out):
    id: str
    client_id: str | None
    client_name: str
    auth_method: str
    ip: str | None
    user_agent: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool


class SessionList(Out):
    items: list[SessionOut]


class RevokedCount(Out):
    revoked: int


class ConsentOut(Out):
    """A client the person allowed (remembered consent) and what it may ask without a page."""

    client_id: str
    client_name: str
    scopes: list[str]
    granted_at: datetime = Field(description="When the person first allowed this client.")
    updated_at: datetime = Field(description="When they last allowed it more.")


class ConsentList(Out):
    items: list[ConsentOut]


class AuditOut(Out):
    id: int
    occurred_at: datetime
    event: str
    outcome: str
    user_id: str | None
    actor: str | None
    client_id: str | None
    session_id: str | None
    ip: str | None
    request_id: str | None
    details: dict[str, object]


class AuditPage(Out):
    items: list[AuditOut]
    total: int
    page: int
    per_page: int


# -- authorization (/api/v1/orgs, /access/v1) --------------------------------------------------
class EntityRef(Strict):
    type: str = Field(min_length=1, max_length=200, examples=["Acme::Project"])
    id: str = Field(min_length=1, max_length=200)


class CedarEntity(Strict):
    uid: EntityRef
    attrs: dict[str, Any] = Field(default_factory=dict)
    parents: list[EntityRef] = Field(default_factory=list, max_length=100)


class EntitiesPut(Strict):
    entities: list[CedarEntity] = Field(min_length=1, max_length=1000)


class TemplateLink(Strict):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
    template: str = Field(min_length=1, max_length=200, description="The template's @id.")
    principal: EntityRef | None = None
    resource: EntityRef | None = None


class PolicyDocument(Strict):
    """An organisation's schema (Cedar JSON schema), policies (Cedar text) and links."""

    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    policies: str = Field(max_length=2_000_000)
    links: list[TemplateLink] = Field(default_factory=list, max_length=100_000)
    note: str = Field("", max_length=500)

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)

    def links_data(self) -> list[dict[str, Any]]:
        """The links as stored: only the slots each one fills."""
        return [link.model_dump(exclude_none=True) for link in self.links]


class PolicyVersionOut(Out):
    version: int
    author: str | None
    note: str
    created_at: datetime


class RollbackRequest(Strict):
    version: int = Field(ge=1)


class OrgCreate(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    name: str = Field(min_length=1, max_length=200)


class OrgOut(Out):
    id: str
    name: str
    revision: int


class MemberPut(Strict):
    teams: list[str] = Field(default_factory=list, max_length=100)


class DecisionCase(Strict):
    """One expected decision: ``limen policy test`` files hold a list of these."""

    name: str = Field("", max_length=200)
    subject: EntityRef
    action: str = Field(min_length=1, max_length=200, examples=["read"])
    resource: EntityRef
    context: dict[str, Any] = Field(default_factory=dict)
    expect: Literal["allow", "deny"]


class PolicyTest(PolicyDocument):
    """A candidate policy document and the decisions it must make."""

    cases: list[DecisionCase] = Field(min_length=1, max_length=1000)
