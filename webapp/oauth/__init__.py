"""The /oauth blueprint: authorize, token, device, PAR, revoke, introspect, userinfo and JWKS;
the RFC 8414 / OIDC discovery documents are ``wellknown`` (discovery.py). The grants and
endpoints behind these views are wired in server.py."""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import AccessDeniedError
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)
from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for

from webapp.browser import signed_in_user
from webapp.errors import register_json_errors
from webapp.extensions import csrf, db, identity, limiter
from webapp.handoff import navigate, top_level_view
from webapp.http import current_principal, is_htmx, settings
from webapp.identity.delegation import Holder, hand_on
from webapp.identity.errors import IdentityError, PermissionDenied
from webapp.models import User
from webapp.problems import Problem, bearer_challenge
from webapp.ratelimits import token_client
from webapp.scope_text import scope_descriptions
from webapp.security import allow_form_action, redirect_origin

from .discovery import wellknown
from .grants.refresh import describable
from .oidc import user_info
from .prompts import AuthnRequest, sign_in_again_target
from .request_objects import authorization_params
from .server import oauth_server

bp = Blueprint("oauth", __name__, url_prefix="/oauth")
register_json_errors(bp)

JWKS_MAX_AGE = 300  # a key is published at least this long before it signs (see jobs)


@bp.errorhandler(OAuth2Error)
def _oauth_error(error: OAuth2Error) -> Response:
    """An OAuth error raised before Authlib's own handling (a request it cannot build)."""
    return oauth_server().handle_error_response(None, error)  # type: ignore[no-any-return]


@bp.get("/jwks")
def jwks() -> Response:
    response = jsonify(identity().keys.jwks())
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return response


def _authorization_error(error: OAuth2Error) -> Any:
    """Send errors only to a redirect URI already validated for the client (RFC 6749), in
    the response mode it asked for (``response_modes``)."""
    if error.redirect_uri:
        if error.state is None:  # RFC 6749 4.1.2.1: the client's state comes back with it
            error.state = authorization_params().get("state")
        return oauth_server().handle_error_response(None, error)
    return render_template(
        "message.html",
        title="This sign-in link is not valid",
        message=error.description or error.error,
        hint="Go back to the application and start again. If it keeps happening, its "
        "administrator needs to check the client registration.",
    ), 400


@bp.route("/authorize", methods=["GET", "POST"])
@top_level_view
def authorize() -> Any:
    if is_htmx() and request.method == "GET":  # a whole page: its CSP is the document's
        return navigate(request.full_path)
    user, principal = signed_in_user()
    server = oauth_server()
    try:  # the whole request is validated before anyone is asked to sign in (RFC 6749 4.1.2.1)
        grant = server.get_consent_grant(end_user=user)
        asked = AuthnRequest.of(grant.request.payload.data, grant.redirect_uri)
    except OAuth2Error as error:
        return _authorization_error(error)
    prompts = asked.prompts
    if "none" in prompts and user is not None and not _hint_names(user.id, grant):
        return _authorization_error(LoginRequiredError(redirect_uri=grant.redirect_uri))
    auth = identity().session_auth(principal.sid) if principal is not None else None
    now = int(identity().clock().timestamp())
    if (
        user is None
        or principal is None
        or asked.needs_sign_in(auth, now, has_second_factor=identity().mfa.enabled(user))
    ):
        if "none" in prompts:  # OIDC Core 3.1.2.6: never a page; the client learns why
            return _authorization_error(LoginRequiredError(redirect_uri=grant.redirect_uri))
        return redirect(url_for("portal.login", next=sign_in_again_target(request.full_path, now)))
    # The organisation the tokens will act in (the org claim): only one the person is in.
    org = str(grant.request.payload.data.get("organization") or "").strip() or None
    if org is not None and not identity().policies.is_member(org, user.id):
        return _authorization_error(
            AccessDeniedError(
                description=describable(
                    f"You are not a member of an organisation {org[:64]!r} (or there is no "
                    "such organisation)."
                ),
                redirect_uri=grant.redirect_uri,
            )
        )
    grant.request.org = org
    # What may be approved is what the approving session holds itself (identity.delegation);
    # the code carries how that session signed in (auth_time, amr, acr) and which it was.
    grant.request.approver = Holder.of(principal, user.role_names)
    grant.request.auth_context = auth
    grant.request.auth_session_id = principal.sid
    client = grant.client.row
    hint = (grant.request.payload.data.get("login_hint") or "").strip().lower()
    other_account = bool(hint) and hint != user.email
    scopes = client_scopes(grant)
    consented = "consent" not in prompts and (  # prompt=consent: ask even if remembered
        client.is_trusted
        or identity().consents.covers(user.id, client.client_id, (name for name, _ in scopes))
    )
    if request.method == "GET":
        if consented and not other_account:
            return server.create_authorization_response(grant_user=user, grant=grant)
        if "none" in prompts:  # a page would be needed: say which kind of interaction
            needed = InteractionRequiredError if other_account else ConsentRequiredError
            return _authorization_error(needed(redirect_uri=grant.redirect_uri))
        allow_consent_redirect(grant)
        return render_template(
            "consent.html",
            client=client,
            user=user,
            scopes=scopes,
            hint=hint if other_account else None,
            action=request.full_path,
        )
    csrf.protect()
    approved = request.form.get("decision") == "approve"
    if approved:  # remembered: the same request later needs no page (and prompt=none works)
        identity().consents.remember(user.id, client.client_id, (name for name, _ in scopes))
    identity().audit.record(
        "oauth.consent_" + ("approved" if approved else "denied"),
        user_id=user.id,
        client_id=client.client_id,
    )
    return server.create_authorization_response(grant_user=user if approved else None, grant=grant)


def _hint_names(user_id: str, grant: Any) -> bool:
    """Whether the request's id_token_hint (if any) names the signed-in person: with
    prompt=none another person's (or a forged) hint is login_required (OIDC Core §3.1.2.2)."""
    raw = str(grant.request.payload.data.get("id_token_hint") or "").strip()
    if not raw:
        return True
    try:
        hint = identity().end_session.read_hint(raw)
    except IdentityError:
        return False
    return hint.sub == user_id and hint.client_id == grant.client.get_client_id()


def allow_consent_redirect(grant: Any) -> None:
    """The consent form's answer redirects to the validated redirect URI: allow its origin
    in this page's form-action (Chromium checks the redirects after a form post)."""
    origin = redirect_origin(grant.redirect_uri or "")
    if origin is not None:
        allow_form_action(origin)


def client_scopes(grant: Any) -> list[tuple[str, str]]:
    granted = grant.client.get_allowed_scope(grant.request.payload.scope).split()
    return scope_descriptions(list(hand_on(grant.request.approver, granted, narrow=True)))


@bp.post("/token")
@limiter.limit(lambda: settings().ratelimit_token)
@limiter.limit(lambda: settings().ratelimit_token_client, key_func=token_client)
def token() -> Response:
    return oauth_server().create_token_response()  # type: ignore[no-any-return]


@bp.post("/device_authorization")
@limiter.limit(lambda: settings().ratelimit_token)
@limiter.limit(lambda: settings().ratelimit_token_client, key_func=token_client)
def device_authorization() -> Response:
    return oauth_server().create_endpoint_response("device_authorization")  # type: ignore[no-any-return]


@bp.post("/par")
@limiter.limit(lambda: settings().ratelimit_token)
@limiter.limit(lambda: settings().ratelimit_token_client, key_func=token_client)
def pushed_authorization_request() -> Response:
    """RFC 9126: push an authorization request, get a one-time request_uri (``par``)."""
    return oauth_server().create_endpoint_response("pushed_authorization")  # type: ignore[no-any-return]


@bp.post("/revoke")
def revoke() -> Response:
    return oauth_server().create_endpoint_response("revocation")  # type: ignore[no-any-return]


@bp.post("/introspect")
def introspect() -> Response:
    return oauth_server().create_endpoint_response("introspection")  # type: ignore[no-any-return]


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    """OIDC Core §5.3 for a bearer access token only (RFC 6750): never the portal cookie, so
    a page of another origin cannot read the person's claims with their cookie."""
    principal = current_principal()
    assert principal is not None
    if principal.credential == "cookie":
        raise Problem(
            401,
            "authentication-required",
            "Bearer token required",
            "userinfo takes an access token in 'Authorization: Bearer ...', not a cookie.",
            {"WWW-Authenticate": bearer_challenge("invalid_token", "A bearer token is required.")},
        )
    if "openid" not in principal.scopes:
        raise PermissionDenied(
            "userinfo needs a token issued with the 'openid' scope.", permission="openid"
        )
    user = db.session.get(User, principal.sub)
    if user is None:
        raise IdentityError("This token does not belong to a user.")
    response = jsonify(dict(user_info(user, " ".join(principal.scopes))))
    response.headers["Cache-Control"] = "no-store"
    return response


from . import logout  # noqa: E402  (its routes join this blueprint)

__all__ = ["bp", "logout", "wellknown"]
