"""What the OAuth server asks of the core: grants for users and services, token lookup for
revocation (RFC 7009) and introspection (RFC 7662). Introspection answers through the same
``authenticate()`` every request uses, so a revoked session is inactive at once, and tells a
client only about tokens issued to it or meant for it, unless an admin gave it the introspect
right (a resource server): RFC 7662 §4."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from webapp.models import OAuthClient, RefreshFamily, RefreshToken, Session, User

from .api_keys import looks_like_api_key
from .auth_context import AuthContext
from .crypto import sha256_hex
from .delegation import Holder, hand_on
from .errors import IdentityError
from .principal import Principal
from .rbac import ALL_PERMISSIONS, SERVICE
from .sessions import SessionStore
from .tokens import REFRESH_PREFIX, Grant, TokenService
from .verify import Credential, Verifier


@dataclass(frozen=True)
class TokenRef:
    """A token found for revocation: which session and client it belongs to."""

    kind: str  # access_token | refresh_token
    session_id: str
    client_id: str | None


@dataclass(frozen=True)
class SessionSubject:
    """The person a client's session is for, the scope first granted to it and how the
    person authenticated: what an ID token issued at refresh repeats (OIDC Core §12.2)."""

    user: User
    scope: tuple[str, ...]
    auth: AuthContext | None
    started_at: int  # epoch seconds; the auth_time of a session without a recorded context


INACTIVE: dict[str, Any] = {"active": False}


class OAuthService:
    """What the OAuth server asks of the core: grants, revocation and introspection."""

    def __init__(
        self,
        db: DbSession,
        sessions: SessionStore,
        tokens: TokenService,
        verifier: Verifier,
        clock: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._sessions = sessions
        self._tokens = tokens
        self._verifier = verifier
        self._clock = clock

    @staticmethod
    def user_grant(
        user: User,
        client: OAuthClient,
        scopes: Iterable[str],
        method: str,
        auth: AuthContext | None = None,
        approved_in: str | None = None,
        org: str | None = None,
    ) -> Grant:
        """A code or device grant: what was approved, within what the user's roles allow now,
        carrying the approving session's authentication context ``auth`` and its id, and the
        organisation ``org`` the sign-in asked to act in (its membership already checked)."""
        return Grant(
            subject=user.id,
            user_id=user.id,
            roles=user.role_names,
            scopes=hand_on(Holder.roles_of(user.role_names), scopes, narrow=True),
            client_id=client.client_id,
            auth_method=method,
            auth=auth,
            approved_in=approved_in,
            org=org,
        )

    @staticmethod
    def service_grant(client: OAuthClient, scopes: Iterable[str]) -> Grant:
        """Client credentials: the client is the subject (RFC 9068 §2.2), holding what an
        admin registered for it."""
        holder = Holder.scoped((SERVICE,), client.scopes, "this client")
        return Grant(
            subject=client.client_id,
            user_id=None,
            roles=(SERVICE,),
            scopes=tuple(s for s in hand_on(holder, scopes, narrow=True) if s in ALL_PERMISSIONS),
            client_id=client.client_id,
            auth_method="client_credentials",
        )

    def session_subject(self, session_id: str) -> SessionSubject | None:
        """Who a refreshable session is for and what it was first granted; None for a
        session without a refresh family or without a person."""
        row = self._db.execute(
            select(RefreshFamily.scope, Session.user_id, Session.created_at)
            .join(Session, Session.id == RefreshFamily.session_id)
            .where(RefreshFamily.session_id == session_id)
        ).first()
        user = self._db.get(User, row.user_id) if row is not None and row.user_id else None
        if row is None or user is None:
            return None
        record = self._sessions.get(session_id)
        return SessionSubject(
            user=user,
            scope=tuple(row.scope.split()),
            auth=AuthContext.from_record(record) if record else None,
            started_at=int(row.created_at.timestamp()),
        )

    def find(self, token: str, hint: str | None = None) -> TokenRef | None:
        """The session behind a refresh or access token this server issued (even if expired)."""
        if token.startswith(REFRESH_PREFIX):
            row = self._db.execute(
                select(RefreshFamily.session_id, RefreshFamily.client_id)
                .join(RefreshToken, RefreshToken.family_id == RefreshFamily.id)
                .where(RefreshToken.token_hash == sha256_hex(token))
            ).first()
            return TokenRef("refresh_token", row[0], row[1]) if row else None
        if looks_like_api_key(token):
            return None
        try:
            claims = self._tokens.decode_access(token)
        except IdentityError:
            return None  # invalid or expired: nothing live to revoke
        return TokenRef("access_token", claims["sid"], claims.get("client_id"))

    def introspect(self, token: str, caller: OAuthClient) -> dict[str, Any]:
        """RFC 7662 for ``caller``: the token's details if it is active and the caller may
        know about it (its own token, one meant for it, or any token for a client with the
        introspect right); otherwise only ``{"active": false}``."""
        if token.startswith(REFRESH_PREFIX):
            answer, owner = self._introspect_refresh(token)
            return answer if caller.may_introspect or owner == caller.client_id else INACTIVE
        try:
            principal = self._verifier.authenticate(Credential(token, "bearer"))
        except IdentityError:
            return INACTIVE
        if not (caller.may_introspect or self._meant_for(token, principal, caller.client_id)):
            return INACTIVE
        body: dict[str, Any] = {
            "active": True,
            "sub": principal.sub,
            "scope": " ".join(sorted(principal.scopes)),
            "client_id": principal.client_id,
            "token_type": "api_key" if principal.api_key_id else "Bearer",
        }
        if principal.sid:
            body["sid"] = principal.sid
            body["iss"] = self._tokens.issuer
            body["aud"] = self._tokens.audience
            body["iat"] = self._tokens.decode_access(token)["iat"]  # RFC 7662 §2.2
        if principal.expires_at:
            body["exp"] = int(principal.expires_at.timestamp())
        if principal.email:
            body["username"] = principal.email
        return body

    def _meant_for(self, token: str, principal: Principal, client_id: str) -> bool:
        """Issued to this client, or naming it as an audience. API keys are neither."""
        if principal.api_key_id is not None:
            return False
        if principal.client_id == client_id:
            return True
        aud = self._tokens.decode_access(token).get("aud")
        return aud == client_id or (isinstance(aud, list) and client_id in aud)

    def _introspect_refresh(self, token: str) -> tuple[dict[str, Any], str | None]:
        found = self._db.execute(
            select(RefreshToken, RefreshFamily)
            .join(RefreshFamily, RefreshFamily.id == RefreshToken.family_id)
            .where(RefreshToken.token_hash == sha256_hex(token))
        ).first()
        if found is None:
            return INACTIVE, None
        row, family = found
        now = self._clock()
        live = (
            row.status == "active"
            and family.revoked_at is None
            and row.expires_at > now
            and self._sessions.exists(family.session_id)
        )
        if not live:
            return INACTIVE, None
        return {
            "active": True,
            "token_type": "refresh_token",
            "client_id": family.client_id,
            "sub": family.user_id,
            "scope": family.scope,
            "sid": family.session_id,
            "iat": int(row.created_at.timestamp()),
            "exp": int(row.expires_at.timestamp()),
        }, family.client_id
