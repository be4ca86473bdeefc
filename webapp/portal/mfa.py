"""Two-step verification in the portal: the sign-in's second step and the Security page."""

from __future__ import annotations

from typing import Any

import segno
from flask import g, render_template, request

from webapp.extensions import identity, limiter
from webapp.handoff import allow_pending_redirect, navigate
from webapp.http import request_meta, safe_next, set_token_cookies, settings
from webapp.identity import errors as ie
from webapp.identity.passkeys import MAX_CREDENTIAL_JSON

from . import bp
from .guards import page
from .passkeys import second_step_passkeys, security_page


@bp.post("/login/verify")
@limiter.limit(lambda: settings().ratelimit_login)
def login_verify() -> Any:
    """Second step of a sign-in: the ticket from a correct password, and the code."""
    target = safe_next(request.form.get("next"))
    allow_pending_redirect(target)
    ticket = request.form.get("ticket", "")[:64]
    code = request.form.get("otp", "").strip()[:32]
    email = request.form.get("email", "")[:320]  # only to fill in the form again
    passkey = request.form.get("passkey", "")[: MAX_CREDENTIAL_JSON + 1] or None
    try:
        tokens = identity().complete_second_step(ticket, code, request_meta(), passkey=passkey)
    except ie.AccountLocked as exc:
        return render_template("login.html", next=target, email=email, error=exc.detail), 423
    except ie.EmailNotVerified as exc:
        body = render_template(
            "login.html", next=target, email=email, error=exc.detail, unverified=True
        )
        return body, 403
    except ie.InvalidCredentials as exc:
        retry = getattr(exc, "retry_ticket", None)
        if retry is None:
            return render_template("login.html", next=target, email=email, error=exc.detail), 401
        return render_template(
            "login_otp.html",
            ticket=retry,
            next=target,
            email=email,
            error=exc.detail,
            passkey=second_step_passkeys(retry),
        ), 401
    response = navigate(target)
    set_token_cookies(response, tokens)
    return response


@bp.get("/mfa")
@page("profile")
def mfa() -> Any:
    return security_page()


@bp.post("/mfa/setup")
@page("profile")
def mfa_setup() -> Any:
    try:
        secret, uri = identity().mfa.begin(g.user)
    except ie.PolicyViolation as exc:
        return security_page(400, enabled=True, error=exc.detail)
    return render_template("mfa_setup.html", secret=secret, uri=uri, qr=qr_image(uri))


def qr_image(uri: str) -> str:
    """The otpauth:// URI as a QR code, an SVG ``data:`` URI (the CSP allows data: images),
    drawn here so no script and no third party ever sees the secret."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#1d2433")  # type: ignore[no-any-return]


@bp.post("/mfa/confirm")
@page("profile")
def mfa_confirm() -> Any:
    code = request.form.get("otp", "").strip()[:16]
    try:
        codes = identity().mfa.confirm(g.user, code, request_meta())
    except ie.PolicyViolation as exc:
        return render_template("mfa_setup.html", error=exc.detail, secret=None, uri=None), 400
    return render_template(
        "mfa_done.html",
        codes=codes,
        restricted=g.principal.auth_method.endswith("mfa-setup-required"),
    )


@bp.post("/mfa/disable")
@page("profile")
def mfa_disable() -> Any:
    ident = identity()
    try:
        ident.mfa.disable(g.user, request.form.get("otp", "").strip()[:32], request_meta())
    except ie.PolicyViolation as exc:
        return security_page(400, enabled=True, error=exc.detail)
    return security_page(enabled=False, left=0, message="Two-step verification is off.")
