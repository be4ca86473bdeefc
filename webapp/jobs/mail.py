"""The mail jobs: deliver one mail (retried by RQ), sweep up what the event path missed, and
answer requests made by address (forgot password, resend a verification link).

Requests by address run here rather than in the web request, so the form's answer does the
same work (one enqueue) whether or not the address has an account.
"""

from __future__ import annotations

import smtplib
import sys
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from webapp.identity.mail import Claimed, SmtpTransport, build_email

from .runtime import job
from .tasks import Context

SWEEP_AFTER = timedelta(seconds=30)
BY_ADDRESS = ("password_reset", "verify")


class MailFailed(Exception):
    """The mail server did not take the mail; RQ retries with back-off."""


@job("mail.send")
def mail_send(ctx: Context, message_id: str) -> dict[str, Any]:
    """Hand one mail to the SMTP server (or, in dev mode, keep it in the outbox)."""
    outbox = ctx.identity.outbox
    claimed = outbox.claim(message_id, ctx.settings.max_attempts)
    ctx.commit()  # the claim holds before anything is sent
    if claimed is None:
        return {"message_id": message_id, "skipped": "sent, given up or being sent"}
    mail = ctx.identity.settings.mail
    target = mail.target()
    if target is None:
        outbox.kept_in_outbox(claimed.id)
        _print_dev_mail(claimed)
        return {"message_id": message_id, "kind": claimed.kind, "delivered": "dev outbox"}
    issuer = ctx.identity.settings.issuer
    message = build_email(
        claimed, mail.sender(issuer), urlsplit(issuer).hostname or "limen", ctx.identity.clock()
    )
    try:
        SmtpTransport(target, mail.smtp_timeout_seconds).send(message)
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
        final = ctx.final_attempt or claimed.attempt >= ctx.settings.max_attempts
        outbox.attempt_failed(claimed.id, error, final=final)
        ctx.commit()  # the failed attempt is on record; raising makes RQ retry
        raise MailFailed(f"{claimed.kind} mail not delivered ({target!r}): {error}") from exc
    outbox.sent(claimed.id)
    return {"message_id": message_id, "kind": claimed.kind, "attempt": claimed.attempt}


@job("mail.sweep")
def mail_sweep(ctx: Context) -> dict[str, Any]:
    """Enqueue mails still owed (the enqueue after their commit failed, or a worker died)."""
    due = ctx.identity.outbox.due(SWEEP_AFTER)
    for message_id in due:
        ctx.runtime.enqueue("mail.send", trigger="schedule", params={"message_id": message_id})
    return {"enqueued": len(due)}


@job("mail.request")
def mail_request(ctx: Context, kind: str, email: str) -> dict[str, Any]:
    """A reset or verification link asked for by address: sent only if an account fits; the
    summary does not say which (the jobs page must not answer what the form would not)."""
    if kind not in BY_ADDRESS:
        raise ValueError(f"unknown mail request {kind!r}")
    account_mail = ctx.identity.account_mail
    if kind == "password_reset":
        account_mail.request_reset(email)
    else:
        account_mail.request_verification(email)
    return {"kind": kind}


def _print_dev_mail(claimed: Claimed) -> None:
    """Dev mode: the mail, on the console, clearly labelled (it is also on /dev/outbox)."""
    bar = "=" * 72
    sys.stderr.write(
        f"\n{bar}\nDEV MODE mail (not sent; see /dev/outbox) to {claimed.to}\n"
        f"Subject: {claimed.content.subject}\n\n{claimed.content.text}\n{bar}\n"
    )
    sys.stderr.flush()
