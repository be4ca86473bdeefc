"""Portal pages for mailed links: forgot password, reset, verify an address, resend a link,
the person's notice choices, and the dev-mode outbox.

A link opens a page with a button or form; only the POST uses it, so a mail scanner that
follows links cannot spend one. Requests by address answer the same whether or not an account
has that address: the work is one enqueued job either way.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import Response, abort, g, make_response, render_template, request

from webapp import jobs
from webapp.extensions import identity, jobs_runtime, limiter
from webapp.http import clear_token_cookies, request_meta, settings
from webapp.identity import errors as ie
from webapp.identity.account_mail import NOTICES
from webapp.ratelimits import device_account, login_account

from . import bp
from .guards import page

SENT_BY_ADDRESS = (
    "If {email} belongs to an account here, a mail with a link is on its way. It can take a "
    "few minutes; check your spam folder too."
)


def _no_store(body: str, status: int = 200) -> Response:
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _link_invalid(exc: ie.LinkInvalid, again: str) -> Response:
    body = render_template("link_invalid.html", detail=exc.detail, again=again)
    return _no_store(body, 400)


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def _address() -> str:
    return request.form.get("email", "").strip()[:320]


# -- forgot password -------------------------------------------------------------------------
@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: settings().mail.ratelimit_forgot_password, methods=["POST"])
@limiter.limit(
    lambda: settings().mail.ratelimit_forgot_password_account,
    methods=["POST"],
    key_func=login_account,
)
def forgot_password() -> Any:
    """Ask for a reset link by address; the answer never says whether the account exists."""
    if request.method == "GET":
        return render_template("forgot_password.html", email="")
    email = _address()
    if "@" not in email:
        error = "Enter the email address of your account."
        return render_template("forgot_password.html", email=email, error=error), 422
    jobs.request_mail(jobs_runtime(), "password_reset", email)
    sent = SENT_BY_ADDRESS.format(email=email)
    return render_template("forgot_password.html", email="", sent=sent)


@bp.route("/password/reset", methods=["GET", "POST"])
def reset_password() -> Any:
    """Choose a new password with a reset link (30 minutes, once)."""
    token = request.values.get("token", "")[:200]
    ident = identity()
    try:
        if request.method == "GET":
            ident.account_mail.peek(token, "reset")
            return _no_store(render_template("reset_password.html", token=token))
        password = request.form.get("password", "")[:1024]
        if password != request.form.get("password_confirm", "")[:1024]:
            error = "The two passwords differ; type the same new password twice."
            return _no_store(render_template("reset_password.html", token=token, error=error), 422)
        ident.account_mail.reset_password(token, password, request_meta())
    except ie.LinkInvalid as exc:
        return _link_invalid(exc, "password_reset")
    except ie.PolicyViolation as exc:
        body = render_template("reset_password.html", token=token, error=exc.detail)
        return _no_store(body, 422)
    response = _no_store(
        render_template(
            "message.html",
            title="Password changed",
            message="Your new password is set and every session of the account was signed out.",
            hint="Sign in with the new password (and your two-step code, if you use one).",
            sign_in=True,
        )
    )
    clear_token_cookies(response)
    return response


# -- verified addresses ----------------------------------------------------------------------
@bp.route("/email/verify", methods=["GET", "POST"])
def verify_email() -> Any:
    """Confirm an address with its link (24 hours, once)."""
    token = request.values.get("token", "")[:200]
    ident = identity()
    try:
        if request.method == "GET":
            row = ident.account_mail.peek(token, "verify")
            return _no_store(render_template("verify_email.html", token=token, email=row.email))
        user = ident.account_mail.verify(token, request_meta())
    except ie.LinkInvalid as exc:
        return _link_invalid(exc, "verify")
    return _no_store(
        render_template(
            "message.html",
            title="Address confirmed",
            message=f"{user.email} is confirmed. Thank you.",
            sign_in=True,
        )
    )


@bp.post("/email/resend")
@limiter.limit(lambda: settings().mail.ratelimit_forgot_password)
@limiter.limit(lambda: settings().mail.ratelimit_mail_resend, key_func=login_account)
def resend_verification() -> Any:
    """A new verification link, asked for by address (same answer either way)."""
    email = _address()
    if "@" in email:
        jobs.request_mail(jobs_runtime(), "verify", email)
    return render_template(
        "message.html", title="Check your mail", message=SENT_BY_ADDRESS.format(email=email)
    )


# -- address change ---------------------------------------------------------------------------
@bp.post("/email/change/request")
@limiter.limit(lambda: settings().mail.ratelimit_mail_resend, key_func=device_account)
@page("profile")
def request_address_change() -> Any:
    """Ask to move the account to another address: a link goes to the new one."""
    new_email = request.form.get("new_email", "").strip()[:320]
    password = request.form.get("password", "")[:1024]
    try:
        address = identity().account_mail.request_address_change(
            g.user, new_email, password, request_meta()
        )
    except (ie.InvalidCredentials, ie.PolicyViolation) as exc:
        body = render_template("message.html", title="Address not changed", message=exc.detail)
        return body, 422
    return render_template(
        "message.html",
        title="Check the new mailbox",
        message=f"We sent a confirmation link to {address}. Your address changes when you "
        "open it (within 24 hours).",
    )


@bp.route("/email/change", methods=["GET", "POST"])
def change_address() -> Any:
    """Confirm a new address with its link: the account moves to it."""
    token = request.values.get("token", "")[:200]
    ident = identity()
    try:
        if request.method == "GET":
            row = ident.account_mail.peek(token, "change")
            body = render_template("verify_email.html", token=token, email=row.email, change=True)
            return _no_store(body)
        user = ident.account_mail.change_address(token, request_meta())
    except ie.LinkInvalid as exc:
        return _link_invalid(exc, "change")
    return _no_store(
        render_template(
            "message.html",
            title="Address changed",
            message=f"Your account's address is now {user.email}.",
            sign_in=True,
        )
    )


# -- notices ---------------------------------------------------------------------------------
@bp.route("/notices", methods=["GET", "POST"])
@page()
def notices() -> Any:
    """Which security notices this person gets by mail."""
    message = None
    if request.method == "POST":
        wanted = set(request.form.getlist("on"))
        identity().account_mail.set_notices_off(g.user, set(NOTICES) - wanted, request_meta())
        message = "Saved."
    off = set(g.user.notices_off or [])
    return render_template("notices.html", notices=NOTICES, off=off, message=message)


# -- dev mode --------------------------------------------------------------------------------
@bp.get("/dev/outbox")
def dev_outbox() -> Any:
    """Dev mode only: the mails Limen would have sent, newest first (links included)."""
    if settings().is_production or not _loopback(request.remote_addr):
        abort(404)  # it holds every account's links: never outside a developer's machine
    outbox = identity().outbox
    mails = []
    for row in outbox.recent():
        content = outbox.read(row) if row.content_encrypted else None
        mails.append({"row": row, "content": content})
    return _no_store(render_template("dev_outbox.html", mails=mails))
