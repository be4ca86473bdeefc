"""Token revocation (RFC 7009): a client revokes its own token, and with it the session the
token belongs to (``identity.revocation``)."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint

from webapp.extensions import identity
from webapp.http import request_meta
from webapp.oauth.clients import ANY_CLIENT_METHODS
from webapp.oauth.tokens import TokenLookup


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = list(ANY_CLIENT_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenLookup | None:
        ref = identity().oauth.find(token_string, token_type_hint)
        return TokenLookup(token_string, ref.client_id, ref.session_id) if ref else None

    def revoke_token(self, token: TokenLookup, request: Any) -> None:
        if token.session_id:
            identity().revocation.revoke_session(
                token.session_id,
                reason="revoked_by_client",
                event="token.revoked",
                meta=request_meta(),
            )
