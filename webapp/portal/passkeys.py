"""Passkeys in the portal: the Security page's list (add, rename, remove after a confirm
step), sign-in with a passkey alone, and a passkey as the second step of a sign-in.

The ceremonies need ``static/passkeys.js`` (``navigator.credentials``): it asks one of the
``.../options`` doors for a challenge (JSON), lets the browser talk to the authenticator and
posts the answer with an ordinary form, so every outcome is an ordinary page. Without
JavaScript the passkey buttons stay hidden and the password sign-in works as before.
"""

from __future__ import annotations

from typing import Any

from flask import Response, g, render_template, request

from webapp.extensions import identity, limiter
from webapp.handoff import allow_pending_redirect, navigate
from webapp.http import request_meta, safe_next, set_token_cookies, settings
from webapp.identity import errors as ie
from webapp.identity.passkeys import MAX_CREDENTIAL_JSON
from webapp.problems import Problem, problem_response

from . import bp
from .guards import page


def passkeys_on() -> bool:
    """Whether the sign-in page offers passkeys (local sign-in on, an RP ID to use)."""
    return settings().local_login_enabled and identity().passkeys.available


def security_page(status: int = 200, **context: Any) -> tuple[str, int]:
    """The Security page (two-step verification and passkeys) for ``g.user``."""
    ident = identity()
    context.setdefault("enabled", ident.mfa.enabled(g.user))
    context.setdefault("required", ident.mfa.required(g.user))
    context.setdefault("left", ident.mfa.recovery_codes_left(g.user))
    body = render_template(
        "mfa.html",
        passkeys=ident.passkeys.of_user(g.user),
        passkeys_available=ident.passkeys.available,
        **context,
    )
    return body, status


def _credential() -> str:
    return request.form.get("credential", "")[: MAX_CREDENTIAL_JSON + 1]


def _options(make: Any) -> Response:
    """A ceremony's options as JSON, or a problem document saying why not."""
    try:
        options = make()
    except ie.PolicyViolation as exc:
        return problem_response(
            Problem(400, "passkey-unavailable", "Passkeys unavailable", exc.detail)
        )
    except ie.InvalidCredentials as exc:
        return problem_response(Problem(401, "sign-in-expired", "Sign-in expired", exc.detail))
    response = Response(options, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the Security page -------------------------------------------------------------------------
@bp.post("/passkeys/options")
@page("profile")
def passkey_options() -> Response:
    """Options for navigator.credentials.create() (JSON)."""
    return _options(lambda: identity().passkeys.registration_options(g.user))


@bp.post("/passkeys")
@page("profile")
def passkey_add() -> Any:
    name = request.form.get("name", "")[:200]
    try:
        row = identity().passkeys.register(g.user, _credential(), name, request_meta())
    except (ie.PolicyViolation, ie.InvalidCredentials) as exc:
        return security_page(400, passkey_error=exc.detail)
    return security_page(passkey_message=f"Passkey “{row.name}” added.")


@bp.post("/passkeys/<passkey_id>/rename")
@page("profile")
def passkey_rename(passkey_id: str) -> Any:
    try:
        row = identity().passkeys.rename(
            g.user, passkey_id[:36], request.form.get("name", "")[:200], request_meta()
        )
    except ie.NotFound as exc:
        return security_page(404, passkey_error=exc.detail)
    except ie.PolicyViolation as exc:
        return security_page(400, passkey_error=exc.detail)
    return security_page(passkey_message=f"Passkey renamed to “{row.name}”.")


@bp.route("/passkeys/<passkey_id>/remove", methods=["GET", "POST"])
@page("profile")
def passkey_remove(passkey_id: str) -> Any:
    """GET asks first (what removing does); POST removes."""
    ident = identity()
    try:
        if request.method == "GET":
            row = next((p for p in ident.passkeys.of_user(g.user) if p.id == passkey_id), None)
            if row is None:
                raise ie.NotFound(
                    "No such passkey on your account; reload the page to see your list."
                )
            return render_template(
                "passkey_remove.html", passkey=row, others=len(ident.passkeys.of_user(g.user)) - 1
            )
        name = ident.passkeys.remove(g.user, passkey_id[:36], request_meta())
    except ie.NotFound as exc:
        return security_page(404, passkey_error=exc.detail)
    return security_page(passkey_message=f"Passkey “{name}” removed; it can no longer sign in.")


# -- sign-in -------------------------------------------------------------------------------------
@bp.post("/login/passkey/options")
@limiter.limit(lambda: settings().ratelimit_login)
def login_passkey_options() -> Response:
    """Options for navigator.credentials.get() on the sign-in page (JSON)."""
    if not settings().local_login_enabled:
        return problem_response(
            Problem(
                403,
                "passkey-sign-in-off",
                "Passkey sign-in is off",
                "Sign in with one of the providers.",
            )
        )
    return _options(identity().passkeys.sign_in_options)


@bp.post("/login/passkey")
@limiter.limit(lambda: settings().ratelimit_login)
def login_passkey() -> Any:
    """Sign in with a passkey alone: the browser's answer to the options above."""
    target = safe_next(request.form.get("next"))
    allow_pending_redirect(target)
    if not passkeys_on():
        return _login_page(target, "Passkey sign-in is off here; use your password.", 403)
    try:
        tokens = identity().passkey_login(_credential(), request_meta())
    except ie.AccountLocked as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        return _login_page(target, exc.detail, 423, headers)
    except ie.EmailNotVerified as exc:
        return _login_page(target, exc.detail, 403)
    except (ie.InvalidCredentials, ie.AccountDisabled) as exc:
        return _login_page(target, exc.detail, 401)
    response = navigate(target)
    set_token_cookies(response, tokens)
    return response


def _login_page(
    target: str, message: str, status: int, headers: dict[str, str] | None = None
) -> Response:
    body = render_template("login.html", next=target, email="", error=message)
    return Response(body, status=status, headers=headers or {})


@bp.post("/login/verify/passkey-options")
@limiter.limit(lambda: settings().ratelimit_login)
def login_verify_passkey_options() -> Response:
    """Options for the second step of a sign-in with one of the account's passkeys (JSON);
    the ticket stays unused until the answer comes."""
    ticket = request.form.get("ticket", "")[:64]

    def make() -> str:
        ident = identity()
        user = ident.second_step_user(ticket) if ticket else None
        if user is None:
            raise ie.InvalidCredentials(
                "The sign-in took too long or was already used; start again."
            )
        return ident.passkeys.second_factor_options(user)

    return _options(make)


def second_step_passkeys(ticket: str) -> bool:
    """Whether the second-step page offers a passkey (the account has one)."""
    if not identity().passkeys.available:
        return False
    user = identity().second_step_user(ticket)
    return user is not None and identity().passkeys.count(user) > 0
