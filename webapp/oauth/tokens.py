"""The tokens Authlib hands out and looks up, all through ``identity``.

Issued: ``generate_token`` is the server's token generator (client_credentials uses it as
is); the grants a person approved (authorization code, device) reach it through
``ApprovedGrantTokens``, which passes on how that person authenticated. Looked up:
``TokenLookup`` is what revocation and introspection hold while they answer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidGrantError

from webapp.extensions import identity
from webapp.http import request_meta
from webapp.identity.auth_context import AuthContext
from webapp.identity.clients import DEVICE_GRANT
from webapp.identity.oauth_codes import code_context
from webapp.identity.tokens import TokenSet
from webapp.models import AuthorizationCode, DeviceCode, OAuthClient, User
from webapp.oauth.clients import Client


def generate_token(
    grant_type: str,
    client: Client,
    user: User | None = None,
    scope: str | None = None,
    expires_in: int | None = None,
    include_refresh_token: bool = True,
    auth: AuthContext | None = None,
    approved_in: str | None = None,
    org: str | None = None,
) -> dict[str, Any]:
    """Every OAuth grant's tokens come from here, via identity.tokens: a new Limen session for
    a person's grant (carrying ``auth``, how they authenticated when they approved it); the
    client's current service session for client_credentials. ``org``: the organisation the
    sign-in asked for, its membership checked again now (``invalid_grant`` once it ended)."""
    ident = identity()
    scopes = ident.clients.allowed_scopes(client.row, scope)
    if user is None:
        grant = ident.oauth.service_grant(client.row, scopes)
        tokens = ident.tokens.service_tokens(grant, request_meta())
    else:
        if org is not None and not ident.policies.is_member(org, user.id):
            raise InvalidGrantError(
                f"The person is no longer a member of organisation {org!r}; start the sign-in "
                "again (without it, or with another organisation)."
            )
        grant = ident.oauth.user_grant(
            user, client.row, scopes, grant_type_name(grant_type), auth, approved_in, org
        )
        with_refresh = (
            include_refresh_token
            and client.check_grant_type("refresh_token")
            and ("offline_access" in grant.scopes or client.row.is_trusted)
        )
        tokens = ident.tokens.start_session(grant, request_meta(), with_refresh=with_refresh)
    body = token_body(tokens)
    body["_sid"] = tokens.session_id  # taken off again in save_token (webapp.oauth.server)
    return body


def grant_type_name(grant_type: str) -> str:
    return "device_code" if grant_type == DEVICE_GRANT else grant_type


def token_body(tokens: TokenSet) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": tokens.access_token,
        "token_type": "Bearer",
        "expires_in": tokens.expires_in,
        "scope": tokens.scope,
    }
    if tokens.refresh_token:
        body["refresh_token"] = tokens.refresh_token
    return body


class ApprovedGrantTokens(ABC):
    """For the grants a person approved (authorization code, device): their tokens carry the
    authentication context the approving session had, and name that session. Listed before
    Authlib's grant class so this ``generate_token`` is the one Authlib calls."""

    GRANT_TYPE: str
    request: Any

    @abstractmethod
    def approval(self) -> AuthorizationCode | DeviceCode:
        """The code or device row this token request redeems (already claimed or checked)."""

    def generate_token(
        self,
        user: User | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """The tokens of this approval, carrying the authentication context it was made in."""
        row = self.approval()
        return generate_token(
            grant_type or self.GRANT_TYPE,
            self.request.client,
            user,
            scope,
            expires_in,
            include_refresh_token,
            auth=code_context(row),
            approved_in=row.auth_session_id,
            org=row.org if isinstance(row, AuthorizationCode) else None,
        )


class TokenLookup:
    """Shared by revocation and introspection: a found token and the client it belongs to
    (for introspection: the client asking)."""

    def __init__(self, token: str, client_id: str | None, session_id: str | None) -> None:
        self.token = token
        self.client_id = client_id
        self.session_id = session_id
        self.caller: OAuthClient | None = None

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.get_client_id()

    def is_expired(self) -> bool:
        return False  # introspection asks identity, which knows expiry and revocation

    def is_revoked(self) -> bool:
        return False
