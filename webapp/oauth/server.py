"""Authlib wiring: every grant and endpoint registered in ``configure_oauth``.

Authlib parses requests, authenticates clients and shapes RFC 6749 responses; every token it
hands out comes from ``identity.tokens`` (which writes the session record), and every client,
code and device decision is made by ``webapp.identity``.
"""

from __future__ import annotations

import re
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.base import invalid_error_characters
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.errors import (
    InsecureTransportError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint, DeviceCodeGrant
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import OpenIDCode, UserInfo
from authlib.oidc.core.errors import RequestNotSupportedError, RequestURINotSupportedError
from flask import Flask, current_app

from webapp.extensions import db, identity
from webapp.http import request_meta, settings
from webapp.identity import errors as ie
from webapp.identity.auth_context import AuthContext
from webapp.identity.clients import (
    CLIENT_ID_PATTERN,
    DEVICE_GRANT,
    SUPPORTED_SCOPES,
    redirect_uri_matches,
)
from webapp.identity.delegation import hand_on
from webapp.identity.oauth_codes import (
    DEVICE_INTERVAL,
    DEVICE_TTL,
    code_context,
    normalize_user_code,
)
from webapp.identity.signing_keys import ID_TOKEN_ALG
from webapp.identity.tokens import TokenSet
from webapp.models import AuthorizationCode, DeviceCode, OAuthClient, User
from webapp.oauth.client_auth import authenticate_client_secret_basic

CONFIDENTIAL_METHODS = ("client_secret_basic", "client_secret_post")
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by spaces.
SCOPE_SYNTAX = re.compile(r"[\x20\x21\x23-\x5B\x5D-\x7E]*")


def describable(text: str) -> str:
    """``text`` as an error_description may carry it (RFC 6749 §5.2: printable ASCII but
    for " and \\): a request's own values can appear in our messages."""
    bad = set(invalid_error_characters(text))
    return "".join("?" if c in bad else c for c in text)


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
        """Scope values we do not know are ignored (OIDC Core §3.1.2.1), and a known scope
        the client is not registered for is left out of the grant (RFC 6749 §3.3: the token
        response's ``scope`` says what was granted); only a value no scope can be is refused."""
        if scope and not SCOPE_SYNTAX.fullmatch(scope):
            raise InvalidScopeError(
                "scope has characters no scope value has (RFC 6749 section 3.3).",
            )

    def handle_error_response(self, request: Any, error: Any) -> Any:
        if isinstance(error, InvalidClientError):
            error.description = (
                "Client authentication failed: the client id is unknown or disabled, the secret "
                "is wrong (or its rotation overlap has ended), or the client used a method it "
                "is not registered for (confidential clients: client_secret_basic or "
                "client_secret_post; public clients: client_id only)."
            )
        return super().handle_error_response(request, error)


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
        return " ".join(identity().clients.allowed_scopes(self.row, scope))

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


def generate_token(
    grant_type: str,
    client: Client,
    user: User | None = None,
    scope: str | None = None,
    expires_in: int | None = None,
    include_refresh_token: bool = True,
    auth: AuthContext | None = None,
    approved_in: str | None = None,
) -> dict[str, Any]:
    """Every OAuth grant's tokens come from here, via identity.tokens: a new Limen session for
    a person's grant (carrying ``auth``, how they authenticated when they approved it); the
    client's current service session for client_credentials."""
    ident = identity()
    scopes = ident.clients.allowed_scopes(client.row, scope)
    if user is None:
        grant = ident.oauth.service_grant(client.row, scopes)
        tokens = ident.tokens.service_tokens(grant, request_meta())
    else:
        grant = ident.oauth.user_grant(
            user, client.row, scopes, grant_type_name(grant_type), auth, approved_in
        )
        with_refresh = (
            include_refresh_token
            and client.check_grant_type("refresh_token")
            and ("offline_access" in grant.scopes or client.row.is_trusted)
        )
        tokens = ident.tokens.start_session(grant, request_meta(), with_refresh=with_refresh)
    body = token_body(tokens)
    body["_sid"] = tokens.session_id  # taken off again in save_token
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


def save_token(token: dict[str, Any], request: Any) -> None:
    """Tokens are already stored by identity.tokens; bind a code to the session it made."""
    sid = token.pop("_sid", None)
    request.limen_sid = sid  # the ID token's sid (LimenOpenIDCode)
    code = getattr(request, "authorization_code", None)
    if sid and isinstance(code, CodeRecord):
        identity().codes.bind_session(code.row.id, sid)


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


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def validate_authorization_request(self) -> str:
        """Authlib's checks, then: request objects (JAR) are not supported, so a request
        that carries one is refused at the client (OIDC Core §6) rather than half-read."""
        redirect_uri: str = super().validate_authorization_request()
        data = self.request.payload.data
        if "request" in data:
            raise RequestNotSupportedError(
                "Request objects (the request parameter) are not supported; send the "
                "parameters themselves.",
                redirect_uri=redirect_uri,
            )
        if "request_uri" in data:
            raise RequestURINotSupportedError(
                "request_uri is not supported; send the parameters themselves.",
                redirect_uri=redirect_uri,
            )
        return redirect_uri

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
        )

    def generate_token(
        self,
        user: User | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """The tokens of this code, carrying the authentication context it was approved in."""
        return generate_token(
            grant_type or self.GRANT_TYPE,
            self.request.client,
            user,
            scope,
            expires_in,
            include_refresh_token,
            auth=code_context(self.request.authorization_code.row),
            approved_in=self.request.authorization_code.row.auth_session_id,
        )

    def query_authorization_code(self, code: str, client: Client) -> CodeRecord | None:
        row = identity().codes.claim(code, client.get_client_id(), request_meta())
        return CodeRecord(row) if row else None

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        """Nothing to do: the code was marked used when it was claimed."""

    def authenticate_user(self, authorization_code: CodeRecord) -> User | None:
        user = db.session.get(User, authorization_code.row.user_id)
        return user if user is not None and user.is_active else None


class RefreshTokenGrant(grants.BaseGrant, grants.TokenEndpointMixin):  # type: ignore[misc]
    """Refresh through identity.refresh: rotation, reuse detection, idempotent retry."""

    GRANT_TYPE = "refresh_token"
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("This client may not use grant_type=refresh_token.")
        if not self.request.form.get("refresh_token"):
            raise InvalidRequestError("Missing 'refresh_token'.")
        self.request.client = client

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client = self.request.client
        try:
            tokens = identity().refresh(
                self.request.form["refresh_token"],
                request_meta(),
                client_id=client.get_client_id(),
                scope=self.request.form.get("scope") or None,
            )
        except ie.InvalidRefreshToken as exc:
            raise InvalidGrantError(describable(exc.detail)) from exc
        except (ie.PermissionDenied, ie.PolicyViolation) as exc:  # wider than was granted
            raise InvalidScopeError(describable(exc.detail)) from exc
        return 200, token_body(tokens), self.TOKEN_RESPONSE_HEADER


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(CONFIDENTIAL_METHODS)


class DeviceGrant(DeviceCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_device_credential(self, device_code: str) -> DeviceRecord:
        """The device request behind ``device_code``; an unknown or used code is
        ``invalid_grant`` (RFC 8628 §3.5, RFC 6749 §5.2)."""
        row = identity().devices.by_device_code(device_code)
        if row is None:
            raise InvalidGrantError("This device code is unknown or has expired.")
        if row.status == "consumed":
            raise InvalidGrantError("This device code has already been used.")
        return DeviceRecord(row)

    def query_user_grant(self, user_code: str) -> tuple[User, bool] | None:
        row = identity().devices.by_user_code(user_code)
        if row is None or row.status == "pending" or row.user_id is None:
            return None
        user = db.session.get(User, row.user_id)
        if user is None or not user.is_active:
            return None
        return user, row.status == "approved"

    def should_slow_down(self, credential: DeviceRecord) -> bool:
        return identity().devices.polled_too_fast(credential.row)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        if not identity().devices.consume(self.request.credential.row):
            raise InvalidGrantError("This device code has already been used.")
        return super().create_token_response()  # type: ignore[no-any-return]

    def generate_token(
        self,
        user: User | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """The device's tokens inherit the approving session's authentication context."""
        return generate_token(
            grant_type or self.GRANT_TYPE,
            self.request.client,
            user,
            scope,
            expires_in,
            include_refresh_token,
            auth=code_context(self.request.credential.row),
            approved_in=self.request.credential.row.auth_session_id,
        )


class DeviceRecord:
    def __init__(self, row: DeviceCode) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_scope(self) -> str:
        return self.row.scope

    def get_user_code(self) -> str:
        return self.row.user_code

    def is_expired(self) -> bool:
        return self.row.expires_at <= identity().clock()


class DeviceAuthorization(DeviceAuthorizationEndpoint):  # type: ignore[misc]
    EXPIRES_IN = int(DEVICE_TTL.total_seconds())
    INTERVAL = DEVICE_INTERVAL

    def get_verification_uri(self) -> str:
        return f"{settings().issuer}/device"

    def create_endpoint_response(self, request: Any) -> tuple[int, dict[str, Any], Any]:
        client = self.authenticate_client(request)
        if not client.check_grant_type(DEVICE_GRANT):
            raise UnauthorizedClientError("This client may not use the device grant.")
        self.server.validate_requested_scope(request.payload.scope)
        scope = client.get_allowed_scope(request.payload.scope)
        device_code, row = identity().devices.start(client.get_client_id(), scope)
        body = {
            "device_code": device_code,
            "user_code": row.user_code,
            "verification_uri": self.get_verification_uri(),
            "verification_uri_complete": f"{self.get_verification_uri()}?user_code={row.user_code}",
            "expires_in": self.EXPIRES_IN,
            "interval": self.INTERVAL,
        }
        return 200, body, [("Content-Type", "application/json"), ("Cache-Control", "no-store")]


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


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

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


class LimenOpenIDCode(OpenIDCode):  # type: ignore[misc]
    """ID tokens (OIDC Core): signed with the ring's active key of the client's registered
    algorithm (RS256 unless it chose ES256 or EdDSA); nonce, at_hash, auth_time, amr, acr."""

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False  # nonces are bound to single-use codes; replay is caught by the code

    def resolve_client_private_key(self, client: Client) -> Any:
        return identity().keys.signing_key(id_token_alg(client))[1]

    def get_client_algorithm(self, client: Client) -> str:
        return id_token_alg(client)

    def get_encode_header(self, client: Client) -> dict[str, str]:
        alg = id_token_alg(client)
        return {"alg": alg, "kid": identity().keys.signing_key(alg)[0], "typ": "JWT"}

    def get_compatible_claims(self, request: Any) -> dict[str, Any]:
        """The client's claims, and ``sid``: the session these tokens belong to, which a
        back-channel logout token names when it ends (OIDC Back-Channel Logout §2.1)."""
        claims: dict[str, Any] = super().get_compatible_claims(request)
        sid = getattr(request, "limen_sid", None)
        if sid:
            claims["sid"] = sid
        return claims

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(identity().clock().timestamp())
        return {
            "iss": settings().issuer,
            "aud": [client.get_client_id()],
            "iat": now,
            "exp": now + 3600,
        }

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        return user_info(user, scope)


def id_token_alg(client: Client) -> str:
    """How this client's ID tokens are signed (its registration, else RS256)."""
    return client.row.id_token_signed_response_alg or ID_TOKEN_ALG


def user_info(user: User, scope: str) -> UserInfo:
    scopes = set(scope.split())
    info = UserInfo(sub=user.id)
    if "profile" in scopes:
        info["name"] = user.display_name or user.email
        info["preferred_username"] = user.email
    if "email" in scopes:
        info["email"] = user.email
        info["email_verified"] = user.email_verified_at is not None  # proven by a mailed link
    return info


class Issuer(IssuerParameter):  # type: ignore[misc]
    def get_issuer(self) -> str:
        return settings().issuer


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
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(DeviceGrant)
    server.register_endpoint(DeviceAuthorization)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    server.register_extension(Issuer())


__all__ = ["configure_oauth", "normalize_user_code", "oauth_server", "user_info"]
