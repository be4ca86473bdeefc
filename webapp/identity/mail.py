"""Mail: compose from templates into the outbox (in the caller's transaction), then deliver.

A mail is written as a ``mail_messages`` row together with the change it reports, its subject
and bodies encrypted (they may carry a one-time link); the ``mail.send`` job delivers it over
SMTP (``SmtpTransport``) with RQ's retries, and drops the content once the server took it. In
dev mode without ``LIMEN_SMTP_URL`` the mail stays in the outbox, readable on the dev outbox
page and printed to the console. Links in mails are built from ``LIMEN_ISSUER`` only.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from webapp.models import MailMessage
from webapp.settings.mail import SmtpTarget

from .db import after_commit

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"
CLAIM_SECONDS = 120  # a sender that died mid-delivery frees its mail after this long
PENDING = ("pending", "retrying")


@dataclass(frozen=True)
class Composed:
    """A rendered mail: subject, plain text and HTML."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Claimed:
    """A mail a sender holds: where it goes and what it says (decrypted)."""

    id: str
    to: str
    kind: str
    attempt: int
    content: Composed


class MailRenderer:
    """Renders ``templates/mail/<kind>.{txt,html}``; the subject is the text's first line."""

    def __init__(self, issuer: str) -> None:
        self._issuer = issuer
        self._text = Environment(
            loader=FileSystemLoader(TEMPLATES),
            undefined=StrictUndefined,
            autoescape=False,  # noqa: S701 (plain text, no HTML)
        )
        self._html = Environment(
            loader=FileSystemLoader(TEMPLATES),
            undefined=StrictUndefined,
            autoescape=select_autoescape(["html"]),
        )

    def link(self, path: str) -> str:
        """An absolute link into Limen, from the issuer (never from a request's Host)."""
        return self._issuer + "/" + path.lstrip("/")

    def render(self, kind: str, context: dict[str, Any]) -> Composed:
        """The subject, plain text and HTML of one mail, from its templates and ``context``."""
        values = {"issuer": self._issuer, **context}
        subject, _, text = self._text.get_template(f"{kind}.txt").render(values).partition("\n")
        html = self._html.get_template(f"{kind}.html").render({**values, "subject": subject})
        return Composed(subject.strip(), text.lstrip("\n"), html)


class Outbox:
    """The mails owed, and their delivery bookkeeping (services flush; callers commit)."""

    def __init__(
        self,
        db: DbSession,
        fernet: Fernet,
        renderer: MailRenderer,
        clock: Callable[[], datetime],
        *,
        delivery: str,
    ) -> None:
        self._db = db
        self._fernet = fernet
        self.renderer = renderer
        self._clock = clock
        self.delivery = delivery  # smtp | dev-outbox | off
        self._listeners: list[Callable[[list[str]], None]] = []

    def compose(
        self, kind: str, to: str, context: dict[str, Any], user_id: str | None = None
    ) -> MailMessage:
        """Write one mail to the outbox in the caller's transaction."""
        content = self.renderer.render(kind, context)
        sealed = self._fernet.encrypt(json.dumps(content.__dict__).encode()).decode()
        row = MailMessage(
            user_id=user_id,
            kind=kind,
            to_address=to,
            status="pending" if self.delivery != "off" else "dropped",
            attempts=0,
            content_encrypted=sealed if self.delivery != "off" else None,
            created_at=self._clock(),
            last_error=None if self.delivery != "off" else "no LIMEN_SMTP_URL: mail is off",
        )
        self._db.add(row)
        self._db.flush()
        if self.delivery != "off":
            message_id = row.id
            after_commit(self._db, lambda: self._committed([message_id]), "mail to send")
        return row

    # -- after the commit: who sends --------------------------------------------------------
    def add_listener(self, listener: Callable[[list[str]], None]) -> None:
        """Call ``listener`` with the ids of the mails a transaction composed, after it
        committed (the jobs runtime enqueues them; a sweep sends any it missed)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def _committed(self, ids: list[str]) -> None:
        for listener in self._listeners:
            listener(ids)

    # -- the sender's side ------------------------------------------------------------------
    def claim(self, message_id: str, max_attempts: int) -> Claimed | None:
        """Take a pending mail for one attempt (one conditional UPDATE), or None if it is sent,
        given up, or held by another sender."""
        now = self._clock()
        free = (MailMessage.claimed_until.is_(None)) | (MailMessage.claimed_until < now)
        result = self._db.execute(
            update(MailMessage)
            .where(
                MailMessage.id == message_id,
                MailMessage.status.in_(PENDING),
                MailMessage.attempts < max_attempts,
                free,
            )
            .values(
                status="sending",
                attempts=MailMessage.attempts + 1,
                claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = self._db.get(MailMessage, message_id)
        assert row is not None and row.content_encrypted is not None
        self._db.refresh(row)
        return Claimed(row.id, row.to_address, row.kind, row.attempts, self.read(row))

    def read(self, row: MailMessage) -> Composed:
        """The decrypted content of a mail still in the outbox."""
        if row.content_encrypted is None:
            raise ValueError("this mail's content is gone (sent or dropped)")
        data = json.loads(self._fernet.decrypt(row.content_encrypted.encode()))
        return Composed(**data)

    def sent(self, message_id: str) -> None:
        """The SMTP server took it: keep the record, drop the content."""
        self._finish(message_id, status="sent", sent_at=self._clock(), content_encrypted=None)

    def kept_in_outbox(self, message_id: str) -> None:
        """Dev mode: the mail stays readable on the outbox page."""
        self._finish(message_id, status="outbox", sent_at=self._clock())

    def attempt_failed(self, message_id: str, error: str, *, final: bool) -> None:
        """Record a failed attempt; the job is retried by RQ unless ``final``."""
        values: dict[str, Any] = {"status": "failed" if final else "retrying"}
        if final:
            values["content_encrypted"] = None
        self._finish(message_id, last_error=error[:500], **values)

    def _finish(self, message_id: str, **values: Any) -> None:
        self._db.execute(
            update(MailMessage)
            .where(MailMessage.id == message_id)
            .values(claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        )

    def due(self, older_than: timedelta) -> list[str]:
        """Mails still owed a while after they were written (the event path missed them)."""
        now = self._clock()
        free = (MailMessage.claimed_until.is_(None)) | (MailMessage.claimed_until < now)
        return list(
            self._db.scalars(
                select(MailMessage.id)
                .where(
                    MailMessage.status.in_(PENDING),
                    MailMessage.created_at < now - older_than,
                    free,
                )
                .limit(500)
            )
        )

    def recent(self, limit: int = 50) -> list[MailMessage]:
        """The newest mails first (the dev outbox page)."""
        return list(
            self._db.scalars(
                select(MailMessage).order_by(MailMessage.created_at.desc()).limit(limit)
            )
        )


def build_email(claimed: Claimed, sender: str, issuer_host: str, now: datetime) -> EmailMessage:
    """The MIME message: plain text with an HTML alternative."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = claimed.to
    message["Subject"] = claimed.content.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(idstring=claimed.id, domain=issuer_host)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Limen-Mail"] = claimed.kind
    message.set_content(claimed.content.text)
    message.add_alternative(claimed.content.html, subtype="html")
    return message


class SmtpTransport:
    """Sends one message over SMTP: STARTTLS (required) or implicit TLS, then AUTH."""

    def __init__(self, target: SmtpTarget, timeout: float) -> None:
        self._target = target
        self._timeout = timeout

    def send(self, message: EmailMessage) -> None:
        """Deliver or raise (smtplib.SMTPException or OSError); never logs the password."""
        t = self._target
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if t.security == "tls":
            client = smtplib.SMTP_SSL(t.host, t.port, timeout=self._timeout, context=context)
        else:
            client = smtplib.SMTP(t.host, t.port, timeout=self._timeout)
        with client:
            if t.security == "starttls":
                client.ehlo()
                if not client.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError("the server offers no STARTTLS")
                client.starttls(context=context)
                client.ehlo()
            if t.username:
                client.login(t.username, t.password or "")
            client.send_message(message)
