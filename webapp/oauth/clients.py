"""Authlib's view of OAuth clients: the client row behind a request, and how it may
authenticate (RFC 6749 §2.3). Registration, secrets and redirect URIs are the core's
(``identity.clients``)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.errors import InvalidScopeError

from webapp.extensions import identity
from webapp.identity.clients import CLIENT_ID_PATTERN, redirect_uri_matches
from webapp.models import OAuthClient

CONFIDENTIAL_METHODS = ("client_secret_basic", "client_secret_post")
# What a grant or endpoint open to public clients accepts: a secret, or the client_id only.
ANY_CLIENT_METHODS = (*CONFIDENTIAL_METHODS, "none")


class Client(ClientMixin):  # type: ignore[misc]
    """Authlib's view of an OAuth client row; secrets are checked as digests by the core."""

    def __init__(self, row: OAuthClient) -> None:
        self.row = row
        self.client_id = row.client_id

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.row.redirect_uris[0] if self.row.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        """What the client gets of ``scope``; a known scope it is not registered for is
        ``invalid_scope`` (RFC 6749 §4.1.2.1, §5.2), an unknown value is ignored."""
        clients = identity().clients
        unregistered = clients.unregistered_scopes(self.row, scope)
        if unregistered:
            raise InvalidScopeError(
                f"This client is not registered for {' '.join(unregistered)}; ask without "
                "it, or have an administrator add it to the client's scopes."
            )
        return " ".join(clients.allowed_scopes(self.row, scope))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri_matches(self.row.redirect_uris, redirect_uri, public=self.row.is_public)

    def check_client_secret(self, client_secret: str) -> bool:
        return identity().clients.check_secret(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.row.is_public:
            return method == "none"
        return method in CONFIDENTIAL_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.row.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.row.grant_types


def query_client(client_id: str) -> Client | None:
    """The active client, or None; an id no client can have is not even looked up."""
    if not client_id or not CLIENT_ID_PATTERN.fullmatch(client_id):
        return None
    row = identity().clients.cached(client_id)
    return Client(row) if row else None
