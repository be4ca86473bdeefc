"""The authorization code grant (RFC 6749 §4.1) with PKCE S256 required (RFC 7636): codes
are issued, claimed once and bound to their session by ``identity.codes``."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9101.errors import InvalidRequestUriError

from webapp.extensions import db, identity
from webapp.http import request_meta
from webapp.identity.delegation import hand_on
from webapp.models import AuthorizationCode, User
from webapp.oauth.clients import ANY_CLIENT_METHODS, Client
from webapp.oauth.response_modes import Response, authorization_response, response_mode
from webapp.oauth.tokens import ApprovedGrantTokens


class CodeRecord:
    """Authlib's view of a claimed authorization code."""

    def __init__(self, row: AuthorizationCode) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int | None:
        return self.row.auth_time or None

    def get_acr(self) -> str | None:
        return self.row.acr

    def get_amr(self) -> list[str] | None:
        return self.row.amr.split() if self.row.amr else None


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE required for every client and S256 only: no plain, no missing challenge."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError(
                "PKCE is required: send code_challenge with code_challenge_method=S256."
            )
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is accepted.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier' (PKCE is required).")
        super().validate_code_verifier(grant, result)


class AuthorizationCodeGrant(ApprovedGrantTokens, grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(ANY_CLIENT_METHODS)

    def validate_authorization_request(self) -> str:
        """Authlib's checks, then: the response mode must be one Limen offers. Request
        objects and pushed requests were read before (``request_objects``): what is
        validated here are their parameters."""
        redirect_uri: str = super().validate_authorization_request()
        response_mode(self.request.payload.data, redirect_uri)
        return redirect_uri

    def create_authorization_response(self, redirect_uri: str, grant_user: User | None) -> Response:
        """Authlib's code (RFC 6749 §4.1.2), delivered in the response mode asked for; a
        denial is ``access_denied``, delivered the same way by the server. A pushed request
        is used up by its answer, once (RFC 9126 §4)."""
        pushed = getattr(self.request, "pushed_request_uri", None)
        if pushed and not identity().pushed_requests.claim(pushed, self.client.get_client_id()):
            raise InvalidRequestUriError(
                "This request_uri was already used or has expired: push the request again.",
                redirect_uri=redirect_uri,
                state=self.request.payload.state,
            )
        if not grant_user:
            raise AccessDeniedError(redirect_uri=redirect_uri)
        self.request.user = grant_user
        code = self.generate_authorization_code()
        self.save_authorization_code(code, self.request)
        params = [("code", code)]
        if self.request.payload.state:
            params.append(("state", self.request.payload.state))
        mode = response_mode(self.request.payload.data, redirect_uri)
        return authorization_response(redirect_uri, params, mode)

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        allowed = request.client.get_allowed_scope(request.payload.scope).split()
        identity().codes.issue(
            code=code,
            client_id=request.client.get_client_id(),
            user_id=request.user.id,
            redirect_uri=request.payload.redirect_uri or request.client.get_default_redirect_uri(),
            # what the approving session itself holds (set by the authorize view)
            scope=" ".join(hand_on(request.approver, allowed, narrow=True)),
            nonce=data.get("nonce"),
            code_challenge=data["code_challenge"],
            code_challenge_method=data.get("code_challenge_method", "S256"),
            # the approving session and how the person authenticated (set by the view)
            auth=request.auth_context,
            auth_session_id=request.auth_session_id,
            org=getattr(request, "org", None),  # checked by the authorize view
        )

    def approval(self) -> AuthorizationCode:
        """The code claimed for this token request (``query_authorization_code``)."""
        row: AuthorizationCode = self.request.authorization_code.row
        return row

    def query_authorization_code(self, code: str, client: Client) -> CodeRecord | None:
        row = identity().codes.claim(code, client.get_client_id(), request_meta())
        return CodeRecord(row) if row else None

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        """Nothing to do: the code was marked used when it was claimed."""

    def authenticate_user(self, authorization_code: CodeRecord) -> User | None:
        user = db.session.get(User, authorization_code.row.user_id)
        return user if user is not None and user.is_active else None
