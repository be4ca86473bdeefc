"""Portal pages for everyone: sign-in and out, the dashboard with sessions, device approval."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, g, redirect, render_template, request, url_for

from webapp.browser import SignInRequired, asks_fresh_sign_in, signed_in_user
from webapp.extensions import csrf, identity, limiter
from webapp.handoff import allow_pending_redirect, navigate
from webapp.http import (
    clear_token_cookies,
    is_htmx,
    request_meta,
    safe_next,
    set_token_cookies,
    settings,
)
from webapp.identity import errors as ie
from webapp.identity.delegation import Holder, hand_on
from webapp.ratelimits import (
    checks_no_real_user_code,
    checks_no_user_code,
    device_account,
    device_user_code,
    login_account,
)
from webapp.scope_text import scope_descriptions
from webapp.stepup import STEP_UP_REASON, sign_in_again
from webapp.upstream import providers

from . import bp
from .guards import ask_first, can, htmx, page, render
from .passkeys import passkeys_on, second_step_passkeys

# Why a session ended (``sessions.revoked_reason``), in words for the sign-in page. The page
# shows words only for a reason named here: the ``why`` parameter never echoes free text.
SIGNED_OUT_WHY = {
    "locked": "An administrator locked your account, so you were signed out.",
    "user_disabled": "Your account was disabled, so you were signed out.",
    "role_removed": "An administrator changed your roles, so you were signed out. "
    "Sign in again to carry on with your new roles.",
    "role_added": "An administrator gave you a new role, so you were signed out. "
    "Sign in again to use it.",
    "signing_key_compromised": "Limen replaced a compromised signing key and ended the "
    "sessions it had signed. Sign in again.",
    "signed_out_by_user": "This session was ended from another of your sessions.",
    "signed_out_elsewhere": "This session was ended from another of your sessions.",
    "password_reset": "Your password was changed, so every session was signed out.",
    "password_changed": "Your password was changed, so your other sessions were signed out.",
    "refresh_reuse": "Your session was ended for safety: an old sign-in token was used again. "
    "If that was not you, change your password.",
    "code_replay": "Your session was ended for safety: a sign-in code was used twice.",
    "consent_revoked": "Your session was ended because access for its application was revoked.",
    "client_deleted": "Your session was ended because its application was removed.",
    "revoked_by_client": "Your session was revoked by the application that held it.",
    "rp_logout": "You signed out of an application, which ended this session.",
    "logout": "You signed out.",
    "signed_out": "You signed out.",
}


SCRIPTS = (("limen/", "limen CLI"), ("python-httpx", "Script (httpx)"), ("curl/", "curl"))


def device_name(user_agent: str | None, client: str | None = None) -> str:
    """A readable name for a session's device, from its User-Agent; a session whose agent
    names no browser we know (a device-flow or service session) is named by its ``client``."""
    ua = user_agent or ""
    if not ua or "Mozilla/" not in ua:
        known = next(
            (name for token, name in SCRIPTS if token in ua),
            None,
        )
        return known or client or ("Unknown device" if not ua else ua.split("/")[0][:40])
    browser = next(
        (
            name
            for token, name in (
                ("Edg/", "Edge"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
            )
            if token in ua
        ),
        None,
    )
    if browser is None:
        return client or "Browser"
    system = next(
        (
            name
            for token, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("Linux", "Linux"),
            )
            if token in ua
        ),
        "",
    )
    return f"{browser} on {system}" if system else browser


bp.add_app_template_filter(device_name, "device_name")


@bp.app_context_processor
def _portal_context() -> dict[str, Any]:
    return {
        "user": g.get("user"),
        "can": can,
        "htmx": htmx,
        "upstream": providers(),
        "local_login": settings().local_login_enabled,
        "passkey_sign_in": passkeys_on,
    }


@bp.after_request
def _never_cached(response: Response) -> Response:
    """Portal pages show a person's own data, forms bound to their session and secrets shown
    once: no browser or proxy may keep a copy (the back button asks the server again)."""
    if request.endpoint != "portal.favicon":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/favicon.ico")
def favicon() -> Any:
    """For browsers that ask before reading a page's ``<link rel="icon">`` (JSON, errors)."""
    response = current_app.send_static_file("favicon.svg")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.before_request
def _csrf_on_writes() -> None:
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        csrf.protect()


@bp.errorhandler(SignInRequired)
def _sign_in(exc: SignInRequired) -> Any:
    here = request.full_path.rstrip("?") if request.method == "GET" else request.referrer
    target = safe_next(_path_of(here))
    if is_htmx():  # portal.js refreshes once on 401, else goes to sign-in and comes back
        return Response(
            "",
            401,
            {
                "X-Limen-Sign-In": _sign_in_url(target, exc.reason),
                "X-Limen-Expired": "1" if exc.expired else "0",
            },
        )
    if exc.expired:
        return render_template("resume.html", next=target), 401
    response = redirect(_sign_in_url(target, exc.reason))
    clear_token_cookies(response)
    return response


@bp.errorhandler(ie.StepUpRequired)
def _step_up(exc: ie.StepUpRequired) -> Any:
    return sign_in_again(exc)


def _sign_in_url(target: str, reason: str | None) -> str:
    if reason is None:
        return url_for("portal.login", next=target)
    why = reason if reason in SIGNED_OUT_WHY else "revoked"
    return url_for("portal.login", next=target, why=why)


def _path_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@bp.get("/")
@page()
def home() -> Any:
    return dashboard(message=None)


def dashboard(
    message: str | None,
    *,
    account_message: str | None = None,
    account_error: str | None = None,
    status: int = 200,
) -> Any:
    sessions = identity().my_sessions.live(g.user.id)
    return render(
        "dashboard.html",
        "sessions",
        sessions=sessions,
        principal=g.principal,
        message=message,
        account_message=account_message,
        account_error=account_error,
    ), status


@bp.post("/account/name")
@page("profile")
def rename() -> Any:
    try:
        identity().account_mail.rename(
            g.user, request.form.get("display_name", "")[:1000], request_meta()
        )
    except ie.PolicyViolation as exc:
        return dashboard(None, account_error=exc.detail, status=422)
    return dashboard(None, account_message="Your name is saved.")


@bp.post("/account/password")
@limiter.limit(lambda: settings().ratelimit_login)
@page("profile")
def change_password() -> Any:
    form = request.form
    new = form.get("new_password", "")[:1024]
    if new != form.get("new_password_confirm", "")[:1024]:
        error = "The two new passwords differ; type the same new password twice."
        return dashboard(None, account_error=error, status=422)
    try:
        ended = identity().account_mail.change_password(
            g.user,
            form.get("current_password", "")[:1024],
            new,
            keep_session=g.principal.sid,
            end_other_sessions=form.get("end_other_sessions") == "on",
            meta=request_meta(),
        )
    except ie.PolicyViolation as exc:
        return dashboard(None, account_error=exc.detail, status=422)
    others = f" {ended} other session{'s' if ended != 1 else ''} signed out." if ended else ""
    return dashboard(None, account_message=f"Your password is changed.{others}")


@bp.post("/sessions/<sid>/revoke")
@page("sessions:write")
def revoke_session(sid: str) -> Any:
    if sid == g.principal.sid:
        what = "This is the session you are using now: you will be signed out here."
    else:
        what = "That device is signed out at once and has to sign in again."
    if asked := ask_first(what, "End the session", url_for("portal.home")):
        return asked
    identity().my_sessions.revoke(g.user.id, sid, request_meta())
    if sid == g.principal.sid:
        return _signed_out()
    return dashboard(message="Session signed out.")


@bp.post("/sessions/revoke-others")
@page("sessions:write")
def revoke_other_sessions() -> Any:
    what = "Every other device and app signed in as you is signed out at once; this one stays."
    if asked := ask_first(what, "Sign out everywhere else", url_for("portal.home")):
        return asked
    count = identity().my_sessions.revoke_others(g.user.id, g.principal.sid, request_meta())
    return dashboard(message=f"Signed out {count} other session{'s' if count != 1 else ''}.")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: settings().ratelimit_login, methods=["POST"])
@limiter.limit(lambda: settings().ratelimit_login_account, methods=["POST"], key_func=login_account)
def login() -> Any:
    target = safe_next(request.values.get("next"))
    allow_pending_redirect(target)
    if request.method == "GET":
        step_up = request.args.get("reason") == STEP_UP_REASON
        person = signed_in_user()[0] if step_up else None  # the same person signs in again
        why = request.args.get("why", "")
        signed_out = SIGNED_OUT_WHY.get(why) or (
            "Your session was ended (revoked). Sign in again." if why == "revoked" else None
        )
        return render_template(
            "login.html",
            next=target,
            email=person.email if person is not None else "",
            again=_again(target),
            step_up=step_up,
            signed_out=signed_out,
        )
    email = request.form.get("email", "")[:320]
    password = request.form.get("password", "")[:1024]
    if not settings().local_login_enabled:
        return _login_error(email, target, "Sign in with one of the providers above.", 403)
    try:
        tokens = identity().password_login(email, password, request_meta())
    except ie.AccountLocked as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        return _login_error(email, target, exc.detail, 423, headers)
    except ie.MfaRequired as exc:
        return render_template(
            "login_otp.html",
            ticket=exc.ticket,
            next=target,
            email=email,
            passkey=second_step_passkeys(exc.ticket),
        )
    except ie.EmailNotVerified as exc:
        body = render_template(
            "login.html", next=target, email=email, error=exc.detail, unverified=True
        )
        return Response(body, status=403)
    except (ie.InvalidCredentials, ie.AccountDisabled) as exc:
        return _login_error(email, target, exc.detail, 401)
    response = navigate(target)
    set_token_cookies(response, tokens)
    return response


def _login_error(
    email: str, target: str, message: str, status: int, headers: dict[str, str] | None = None
) -> Response:
    body = render_template(
        "login.html", next=target, email=email, error=message, again=_again(target)
    )
    return Response(body, status=status, headers=headers or {})


def _again(target: str) -> bool:
    """Whether someone already signed in is asked to sign in again for a client."""
    return asks_fresh_sign_in(target) and signed_in_user()[0] is not None


@bp.post("/logout")
def logout() -> Any:
    _, principal = signed_in_user()
    if principal is not None and principal.sid:
        identity().logout(principal.sid, principal.sub, request_meta())
    return _signed_out()


def _signed_out() -> Any:
    target = url_for("portal.login")
    response = Response("", 200, {"HX-Redirect": target}) if is_htmx() else redirect(target, 303)
    clear_token_cookies(response)
    return response


@bp.route("/device", methods=["GET", "POST"])
@limiter.limit(lambda: settings().ratelimit_device_entry, exempt_when=checks_no_user_code)
@limiter.limit(
    lambda: settings().ratelimit_device_entry,
    key_func=device_account,
    exempt_when=checks_no_user_code,
)
@limiter.limit(
    lambda: settings().ratelimit_device_code,
    key_func=device_user_code,
    exempt_when=checks_no_real_user_code,
)
@page()
def device() -> Any:
    """RFC 8628 verification: enter the code, see who asks for what, approve or deny."""
    code = (request.values.get("user_code") or "").strip()[:32]
    decision = request.form.get("decision")
    if request.method == "GET" and not code:
        return render_template("device.html", code="")
    try:
        if decision in ("approve", "deny"):
            row = identity().devices.decide(
                code,
                g.user,
                decision == "approve",
                request_meta(),
                approver=Holder.of(g.principal, g.user.role_names),
                auth=identity().session_auth(g.principal.sid),
                auth_session_id=g.principal.sid,
            )
            client = identity().clients.get(row.client_id)
            return render_template(
                "device_done.html", approved=decision == "approve", client=client
            )
        row = identity().devices.pending(code)
    except ie.NotFound as exc:
        return render_template("device.html", code=code, error=exc.detail), 400
    return render_template(
        "device_confirm.html",
        code=row.user_code,
        client=identity().clients.get(row.client_id),
        # what approving grants: the part of the request this session holds itself
        scopes=scope_descriptions(
            list(hand_on(Holder.of(g.principal, g.user.role_names), row.scope.split(), narrow=True))
        ),
    )
