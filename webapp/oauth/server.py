"""Authlib wiring: ``configure_oauth`` composes every grant and endpoint, one module each.

Authlib parses requests, authenticates clients and shapes RFC 6749 responses; every token it
hands out comes from ``identity.tokens`` (which writes the session record), and every client,
code and device decision is made by ``webapp.identity``. The pieces:

- ``clients``: the client row as Authlib sees it; ``client_auth``: client_secret_basic;
- ``tokens``: the token generator, the approved grants' tokens, token lookup;
- ``grants.authorization_code`` (+ PKCE S256), ``grants.refresh``,
  ``grants.client_credentials``, ``grants.device`` (+ the device authorization endpoint);
- ``revocation`` (RFC 7009), ``introspection`` (RFC 7662), ``oidc`` (ID tokens at the code
  grant and at refresh, claims), ``discovery`` (metadata), ``response_modes`` (query,
  fragment, form_post; the RFC 9207 issuer on every authorization response);
- ``request_objects`` (RFC 9101 signed request objects, pushed requests at the authorization
  endpoint), ``par`` (RFC 9126 pushed authorization request endpoint).
"""

from __future__ import annotations

import re
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.base import invalid_error_characters
from authlib.oauth2.rfc6749.errors import (
    InsecureTransportError,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
)
from flask import Flask, current_app

from webapp.extensions import identity
from webapp.http import settings
from webapp.identity.clients import SUPPORTED_SCOPES
from webapp.oauth.client_auth import authenticate_client_secret_basic
from webapp.oauth.clients import query_client
from webapp.oauth.grants.authorization_code import AuthorizationCodeGrant, CodeRecord, S256Only
from webapp.oauth.grants.client_credentials import ClientCredentialsGrant
from webapp.oauth.grants.device import DeviceAuthorization, DeviceGrant
from webapp.oauth.grants.refresh import RefreshTokenGrant
from webapp.oauth.introspection import Introspection
from webapp.oauth.oidc import LimenOpenIDCode, RefreshIdToken
from webapp.oauth.par import PushedAuthorization
from webapp.oauth.request_objects import RequestObjects, authorization_params
from webapp.oauth.response_modes import authorization_error
from webapp.oauth.revocation import Revocation
from webapp.oauth.tokens import generate_token

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by spaces.
SCOPE_SYNTAX = re.compile(r"[\x20\x21\x23-\x5B\x5D-\x7E]*")


class LimenAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's server with error descriptions a person can act on."""

    def create_oauth2_request(self, request: Any) -> Any:
        """Authlib's request, or an RFC 6749 error (never a crash) when the request cannot be
        one: Authlib refuses a plain-http URL for a host that is not loopback (an unknown
        Host header on a plain-http deployment), and cannot even describe a response_type
        with characters an error description may not carry (RFC 6749 §5.2)."""
        try:
            oauth_request = super().create_oauth2_request(request)
        except InsecureTransportError as exc:
            raise InvalidRequestError(
                f"Send OAuth requests to {settings().issuer} (the issuer), over https unless "
                "it is a loopback address."
            ) from exc
        if invalid_error_characters(oauth_request.payload.data.get("response_type") or ""):
            raise InvalidRequestError(
                "response_type has characters no response type has; use response_type=code.",
                state=oauth_request.payload.state,
            )
        return oauth_request

    def validate_requested_scope(self, scope: str | None) -> None:
        """Scope values we do not know are ignored (OIDC Core §3.1.2.1); a value no scope can
        be is refused here, a known scope the client is not registered for by the client
        (``Client.get_allowed_scope``)."""
        if scope and not SCOPE_SYNTAX.fullmatch(scope):
            raise InvalidScopeError(
                "scope has characters no scope value has (RFC 6749 section 3.3).",
            )

    def handle_error_response(self, request: Any, error: Any) -> Any:
        """RFC 6749 §5.2 JSON; an authorization error whose redirect URI is validated goes
        back to the client in the response mode it asked for (``response_modes``)."""
        if error.redirect_uri:
            return self.handle_response(*authorization_error(error, authorization_params()))
        if isinstance(error, InvalidClientError):
            error.description = (
                "Client authentication failed: the client id is unknown or disabled, the secret "
                "is wrong (or its rotation overlap has ended), or the client used a method it "
                "is not registered for (confidential clients: client_secret_basic or "
                "client_secret_post; public clients: client_id only)."
            )
        return super().handle_error_response(request, error)


def save_token(token: dict[str, Any], request: Any) -> None:
    """Tokens are already stored by identity.tokens; bind a code to the session it made."""
    sid = token.pop("_sid", None)
    request.limen_sid = sid  # the ID token's sid (LimenOpenIDCode)
    code = getattr(request, "authorization_code", None)
    if sid and isinstance(code, CodeRecord):
        identity().codes.bind_session(code.row.id, sid)


def oauth_server() -> AuthorizationServer:
    return current_app.extensions["limen.oauth"]


def configure_oauth(app: Flask) -> None:
    """Register every grant and endpoint; the one place OAuth is wired."""
    server = LimenAuthorizationServer()
    server.init_app(app, query_client=query_client, save_token=save_token)
    app.extensions["limen.oauth"] = server
    server.scopes_supported = sorted(SUPPORTED_SCOPES)
    server.register_token_generator("default", generate_token)
    server.register_client_auth_method("client_secret_basic", authenticate_client_secret_basic)
    server.register_grant(
        AuthorizationCodeGrant, [S256Only(required=True), LimenOpenIDCode(require_nonce=False)]
    )
    server.register_grant(RefreshTokenGrant, [RefreshIdToken()])
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(DeviceGrant)
    server.register_endpoint(DeviceAuthorization)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    server.register_endpoint(PushedAuthorization)
    server.register_extension(RequestObjects())


__all__ = ["configure_oauth", "oauth_server"]
