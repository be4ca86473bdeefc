"""Token introspection (RFC 7662) for confidential clients (resource servers); what a client
may learn about which token is decided by ``identity.oauth.introspect``."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from webapp.extensions import identity
from webapp.oauth.clients import CONFIDENTIAL_METHODS, Client
from webapp.oauth.tokens import TokenLookup


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = list(CONFIDENTIAL_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenLookup:
        return TokenLookup(token_string, None, None)

    def check_permission(self, token: TokenLookup, client: Client, request: Any) -> bool:
        """Which tokens a client may learn about is decided by identity.oauth.introspect."""
        token.caller = client.row
        return not client.row.is_public  # resource servers are confidential clients

    def introspect_token(self, token: TokenLookup) -> dict[str, Any]:
        assert token.caller is not None  # check_permission ran first
        return identity().oauth.introspect(token.token, token.caller)
