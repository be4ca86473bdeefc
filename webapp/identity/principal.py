"""The Principal: who is calling, whatever door the request came through."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified credential speaks for: subject, roles, scopes and how."""

    sub: str
    roles: tuple[str, ...]
    scopes: frozenset[str]
    auth_method: str  # password | api_key | client_credentials | upstream:<name> | ...
    credential: str  # access_token | api_key | cookie
    client_id: str | None = None
    sid: str | None = None
    email: str | None = None
    api_key_id: str | None = None
    expires_at: datetime | None = None
    token_id: str | None = field(default=None, compare=False)
    # How the person authenticated (from the session's authentication context): RFC 8176
    # method references, the acr met, and when. Empty for services and API keys.
    amr: tuple[str, ...] = ()
    acr: str | None = None
    auth_time: int | None = None
    # The organisation the session acts in (the token's ``org`` claim); None for API keys
    # and services.
    org: str | None = None
    # When this verification stops holding (exp; an API key's expiry or grace end): the most
    # a cached copy may be reused for.
    valid_until: datetime | None = field(default=None, compare=False)

    def has_scope(self, scope: str) -> bool:
        """True if the credential carries ``scope``."""
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """Facts about the request that the core records but never decides on by itself."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
