"""The client credentials grant (RFC 6749 §4.4), for confidential clients only; its tokens
are the client's current service session (``generate_token`` without a user)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants

from webapp.oauth.clients import CONFIDENTIAL_METHODS


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(CONFIDENTIAL_METHODS)

    def validate_token_request(self) -> None:
        """Authlib's checks, then the client's own scopes: a known scope it is not
        registered for is ``invalid_scope`` (``Client.get_allowed_scope``)."""
        super().validate_token_request()
        self.request.client.get_allowed_scope(self.request.payload.scope)
