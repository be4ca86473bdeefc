"""Portal pages: sign-in, sign-out, home, and the device-verification page.

Pages sign people in with the same tokens as the API (HttpOnly cookies) and check every
state change with flask-wtf's CSRF token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Response, redirect, render_template, request, url_for

from webapp.extensions import csrf, db, identity, limiter
from webapp.http import (
    clear_token_cookies,
    current_principal,
    request_meta,
    set_token_cookies,
    settings,
)
from webapp.identity import Principal
from webapp.identity import errors as ie
from webapp.models import OAuthClient, User

from . import bp

SCOPE_TEXT = {
    "openid": "Confirm who you are",
    "profile": "See your name and roles",
    "email": "See your email address",
    "offline_access": "Stay signed in (refresh tokens)",
    "keys:read": "List your API keys",
    "keys:write": "Create, rotate and revoke your API keys",
    "sessions:read": "See your active sessions",
    "sessions:write": "Sign out your sessions",
    "users:read": "See all users (admin)",
    "users:write": "Change users and roles (admin)",
    "clients:read": "See OAuth clients (admin)",
    "clients:write": "Manage OAuth clients (admin)",
    "audit:read": "Read the audit log (admin)",
    "jobs:read": "See background jobs (admin)",
    "jobs:write": "Run background jobs (admin)",
    "signing-keys:write": "Rotate signing keys (admin)",
}


def scope_descriptions(scopes: list[str]) -> list[tuple[str, str]]:
    return [(s, SCOPE_TEXT.get(s, s)) for s in scopes]


def safe_next(value: str | None) -> str:
    """Only same-origin paths: never an absolute URL, never //host, never a backslash."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return url_for("portal.home")
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return url_for("portal.home")
    return value


def signed_in_user() -> tuple[User | None, Principal | None]:
    """The person behind the portal cookie, or (None, None)."""
    try:
        principal = current_principal(optional=True)
    except ie.IdentityError:
        return None, None
    if principal is None or principal.credential != "cookie":
        return None, None
    user = db.session.get(User, principal.sub)
    if user is None or not user.is_active:
        return None, None
    return user, principal


@bp.before_request
def _csrf_on_writes() -> None:
    if request.method == "POST":
        csrf.protect()


@bp.get("/")
def home() -> Any:
    user, principal = signed_in_user()
    if user is None:
        return redirect(url_for("portal.login", next=request.full_path.rstrip("?")))
    return render_template("home.html", user=user, principal=principal)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: settings().ratelimit_login, methods=["POST"])
def login() -> Any:
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=target, email="")
    email = request.form.get("email", "")[:320]
    password = request.form.get("password", "")[:1024]
    try:
        tokens = identity().password_login(email, password, request_meta())
    except ie.AccountLocked as exc:
        return _login_error(email, target, exc.detail, 423, {"Retry-After": str(exc.retry_after)})
    except (ie.InvalidCredentials, ie.AccountDisabled) as exc:
        return _login_error(email, target, exc.detail, 401)
    response = redirect(target, 303)
    set_token_cookies(response, tokens)
    return response


def _login_error(
    email: str, target: str, message: str, status: int, headers: dict[str, str] | None = None
) -> Response:
    body = render_template("login.html", next=target, email=email, error=message)
    return Response(body, status=status, headers=headers or {})


@bp.post("/logout")
def logout() -> Any:
    _, principal = signed_in_user()
    if principal is not None and principal.sid:
        identity().logout(principal.sid, principal.sub, request_meta())
    response = redirect(url_for("portal.login"), 303)
    clear_token_cookies(response)
    return response


@bp.route("/device", methods=["GET", "POST"])
@limiter.limit(lambda: settings().ratelimit_device_entry, methods=["POST"])
def device() -> Any:
    """RFC 8628 verification: enter the code, see who asks for what, approve or deny."""
    user, _ = signed_in_user()
    if user is None:
        return redirect(url_for("portal.login", next=request.full_path.rstrip("?")))
    code = (request.values.get("user_code") or "").strip()[:32]
    decision = request.form.get("decision")
    if request.method == "GET" and not code:
        return render_template("device.html", user=user, code="")
    try:
        if decision in ("approve", "deny"):
            row = identity().devices.decide(code, user, decision == "approve", request_meta())
            client = identity().clients.get(row.client_id)
            return render_template(
                "device_done.html", approved=decision == "approve", client=client
            )
        row = identity().devices.pending(code)
    except ie.NotFound as exc:
        return render_template("device.html", user=user, code=code, error=exc.detail), 400
    client = db.session.scalar(db.select(OAuthClient).where(OAuthClient.client_id == row.client_id))
    return render_template(
        "device_confirm.html",
        user=user,
        code=row.user_code,
        client=client,
        scopes=scope_descriptions(row.scope.split()),
    )
