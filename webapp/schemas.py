"""Request and response schemas, defined once: they validate bodies and generate OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


PermissionName = Literal[
    "profile",
    "keys:read",
    "keys:write",
    "sessions:read",
    "sessions:write",
    "users:read",
    "users:write",
    "clients:read",
    "clients:write",
    "audit:read",
    "jobs:read",
    "jobs:write",
    "signing-keys:write",
]


class ApiKeyCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[PermissionName] = Field(min_length=1, max_length=32)
    expires_in_days: int | None = Field(None, ge=1, le=366)
    expires_at: datetime | None = None

    @model_validator(mode="after")
    def _one_expiry(self) -> ApiKeyCreate:
        if self.expires_in_days is not None and self.expires_at is not None:
            raise ValueError("give expires_in_days or expires_at, not both")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at needs a timezone, e.g. 2027-01-31T00:00:00Z")
        return self


class ApiKeyRotate(Strict):
    grace_seconds: int = Field(86_400, ge=0, le=30 * 86_400)


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
    rotate_before_days: int | None = Field(None, ge=1, le=90)
    grace_seconds: int = Field(7 * 86_400, ge=0, le=30 * 86_400)


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
    grant_types: list[
        Literal["authorization_code", "client_credentials", "device_code", "refresh_token"]
    ] = Field(min_length=1, max_length=4)
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
    post_logout_redirect_uris: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="RP-Initiated Logout: where the browser may return after signing out "
        "(exact match).",
    )


class ClientSecretPolicy(Strict):
    rotation_days: int | None = Field(None, ge=1, le=366)


class ClientSecret(Out):
    client_id: str
    client_secret: str = Field(description="The rotated secret. Shown once.")


class ClientRotate(Strict):
    overlap_seconds: int = Field(86_400, ge=0, le=30 * 86_400)


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
    post_logout_redirect_uris: list[str] = []


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


class UserPatch(Strict):
    roles: list[Literal["admin", "analyst"]] | None = Field(None, min_length=1, max_length=2)
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
