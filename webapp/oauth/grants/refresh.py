"""The refresh token grant (RFC 6749 §6) through ``identity.refresh``: rotation, reuse
detection and the idempotent retry are the core's."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.base import invalid_error_characters
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.hooks import hooked

from webapp.extensions import identity
from webapp.http import request_meta
from webapp.identity import errors as ie
from webapp.oauth.clients import ANY_CLIENT_METHODS
from webapp.oauth.tokens import token_body


def describable(text: str) -> str:
    """``text`` as an error_description may carry it (RFC 6749 §5.2: printable ASCII but
    for " and \\): a request's own values can appear in our messages."""
    bad = set(invalid_error_characters(text))
    return "".join("?" if c in bad else c for c in text)


class RefreshTokenGrant(grants.BaseGrant, grants.TokenEndpointMixin):  # type: ignore[misc]
    """Refresh through identity.refresh: rotation, reuse detection, idempotent retry."""

    GRANT_TYPE = "refresh_token"
    TOKEN_ENDPOINT_AUTH_METHODS = list(ANY_CLIENT_METHODS)

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("This client may not use grant_type=refresh_token.")
        if not self.request.form.get("refresh_token"):
            raise InvalidRequestError("Missing 'refresh_token'.")
        self.request.client = client

    @hooked
    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """The rotated tokens; extensions (``oidc.RefreshIdToken``) see the answer after."""
        client = self.request.client
        try:
            tokens = identity().refresh(
                self.request.form["refresh_token"],
                request_meta(),
                client_id=client.get_client_id(),
                scope=self.request.form.get("scope") or None,
                organization=self.request.form.get("organization"),
            )
        except ie.InvalidRefreshToken as exc:
            raise InvalidGrantError(describable(exc.detail)) from exc
        except ie.NotAMember as exc:  # a switch to an organisation the person is not in
            raise InvalidRequestError(describable(exc.detail)) from exc
        except (ie.PermissionDenied, ie.PolicyViolation) as exc:  # wider than was granted
            raise InvalidScopeError(describable(exc.detail)) from exc
        self.request.limen_sid = tokens.session_id
        return 200, token_body(tokens), self.TOKEN_RESPONSE_HEADER
