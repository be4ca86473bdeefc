"""The /auth blueprint: first-party JSON sign-up, sign-in, refresh and sign-out.

Tokens go both in the JSON body (for scripts and the CLI) and in HttpOnly cookies (for the
portal); refresh reads the token from the body or from the path-scoped refresh cookie.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from webapp.errors import register_json_errors
from webapp.extensions import identity, limiter
from webapp.http import (
    clear_token_cookies,
    csrf_token,
    current_principal,
    parse_body,
    protect_cookie_request,
    refresh_cookie_name,
    request_meta,
    set_token_cookies,
    settings,
)
from webapp.identity import FIRST_PARTY_CLIENT
from webapp.identity.errors import Conflict
from webapp.identity.tokens import TokenSet
from webapp.openapi import documented
from webapp.problems import Problem
from webapp.ratelimits import login_account
from webapp.schemas import (
    CsrfResponse,
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    RegistrationPending,
    TokenResponse,
    UserOut,
)

bp = Blueprint("auth", __name__, url_prefix="/auth")
register_json_errors(bp)


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _token_response(tokens: TokenSet, status: int = 200) -> Response:
    body = TokenResponse(
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        expires_at=tokens.expires_at,
        refresh_token=tokens.refresh_token,
        scope=tokens.scope,
        session_id=tokens.session_id,
        csrf_token=csrf_token(),
    )
    response = jsonify(body.model_dump(mode="json"))
    response.status_code = status
    set_token_cookies(response, tokens)
    return response


@bp.post("/register")
@documented(
    "Create a local account (when registration is enabled)",
    body=RegisterRequest,
    responses={201: UserOut, 202: RegistrationPending},
    auth=False,
)
@limiter.limit(lambda: settings().ratelimit_register)
def register() -> tuple[Response, int]:
    """201 with the account; or, when addresses must be verified, 202 whether or not the
    address was taken (a taken address's owner is told by mail; nothing else changes)."""
    if not settings().registration_enabled:
        raise Problem(
            403,
            "registration-disabled",
            "Registration disabled",
            "Self-service registration is turned off here; ask an administrator "
            "to create your account.",
        )
    body = parse_body(RegisterRequest)
    if settings().mail.email_verification_required:
        return _register_unverified(body)
    ident = identity()
    user = ident.accounts.create_user(
        body.email, body.password, display_name=body.display_name, meta=request_meta()
    )
    ident.account_mail.send_verification(user)
    out = UserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=list(user.role_names),
        created_at=user.created_at,
    )
    return jsonify(out.model_dump(mode="json")), 201


def _register_unverified(body: RegisterRequest) -> tuple[Response, int]:
    """Registration that reveals nothing about which addresses have accounts."""
    ident = identity()
    try:
        user = ident.accounts.create_user(
            body.email, body.password, display_name=body.display_name, meta=request_meta()
        )
        ident.account_mail.send_verification(user)
        email = user.email
    except Conflict:  # the refused insert was its own savepoint: nothing else to undo
        ident.passwords.hash(body.password)  # the work a new account costs: the same time
        owner = ident.accounts.find(body.email)
        if owner is None:  # a concurrent registration is still committing: it gets the link
            raise
        ident.account_mail.notify_registration_attempt(owner)
        email = ident.emails.normalize(body.email).display  # as typed, not as the owner's
    answer = RegistrationPending(
        status="verification-sent",
        email=email,
        detail="Open the link we mailed to this address to finish; then sign in.",
    )
    return jsonify(answer.model_dump(mode="json")), 202


@bp.post("/login")
@documented(
    "Sign in with email and password", body=LoginRequest, responses={200: TokenResponse}, auth=False
)
@limiter.limit(lambda: settings().ratelimit_login)
@limiter.limit(lambda: settings().ratelimit_login_account, key_func=login_account)
def login() -> Response:
    body = parse_body(LoginRequest)
    if not settings().local_login_enabled:
        raise Problem(
            403,
            "password-login-disabled",
            "Password sign-in is off",
            "This deployment signs people in through its identity providers; use "
            "the browser or device flow (limen login).",
        )
    ident = identity()
    client_id = FIRST_PARTY_CLIENT
    if body.client_id is not None:
        client = ident.clients.get(body.client_id)
        if client is None or not client.is_trusted:
            raise Problem(
                400,
                "untrusted-client",
                "Client not allowed here",
                f"{body.client_id!r} is not a trusted first-party client; other "
                "applications sign people in through /oauth/authorize.",
            )
        client_id = client.client_id
    tokens = ident.password_login(
        body.email, body.password, request_meta(), client_id, otp=body.otp
    )
    return _token_response(tokens)


@bp.post("/refresh")
@documented(
    "Rotate a refresh token (JSON body or the HttpOnly cookie)",
    body=RefreshRequest,
    responses={200: TokenResponse},
    auth=False,
)
def refresh() -> Response:
    body = parse_body(RefreshRequest, allow_empty=True)
    from_cookie = body.refresh_token is None
    token = body.refresh_token or request.cookies.get(refresh_cookie_name())
    if not token:
        raise Problem(
            401,
            "refresh-token-missing",
            "No refresh token",
            'Send {"refresh_token": ...} in the body, or call this from the '
            "browser that signed in (the refresh cookie is HttpOnly).",
        )
    if from_cookie:
        protect_cookie_request()
    tokens = identity().refresh(token, request_meta(), organization=body.organization)
    # Cookies follow every rotation, so a browser never holds a spent refresh token.
    return _token_response(tokens)


@bp.post("/logout")
@documented(
    "Sign out: the session and all its tokens die at once, everywhere",
    body=LogoutRequest,
    responses={204: None},
)
def logout() -> Response:
    body = parse_body(LogoutRequest, allow_empty=True)
    ident = identity()
    sid: str | None = None
    sub: str | None = None
    if body.refresh_token:
        ref = ident.oauth.find(body.refresh_token)  # the same lookup RFC 7009 revocation uses
        sid = ref.session_id if ref is not None and ref.kind == "refresh_token" else None
        if sid is None:
            raise Problem(
                401,
                "invalid-refresh-token",
                "Refresh token rejected",
                "The refresh token is unknown; the session may already be over.",
            )
    else:
        principal = current_principal()
        assert principal is not None
        if principal.credential == "cookie":
            protect_cookie_request()
        if principal.sid is None:
            raise Problem(
                400,
                "no-session",
                "Nothing to sign out",
                "API keys have no session; revoke the key instead (DELETE /api/v1/api-keys/{id}).",
            )
        sid, sub = principal.sid, principal.sub
    ident.logout(sid, sub, request_meta())
    response = Response(status=204)
    clear_token_cookies(response)
    return response


@bp.get("/csrf")
@documented(
    "A CSRF token for cookie-authenticated writes (send it as X-CSRFToken)",
    responses={200: CsrfResponse},
    auth=False,
)
def csrf() -> Response:
    return jsonify({"csrf_token": csrf_token()})


from . import upstream  # noqa: E402,F401  (routes register on bp)
