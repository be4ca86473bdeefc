"""The e-mail section of the settings (``Settings.mail``), from ``LIMEN_*``.

``LIMEN_SMTP_URL`` names the mail server: ``smtp://user:password@host:587`` (STARTTLS, always
required) or ``smtps://user:password@host:465`` (implicit TLS). Only a loopback server may be
spoken to in the clear, with ``smtp://host:port?tls=none`` (a local relay, the tests). Unset,
the dev server writes mails to its outbox page and the console; production sends none.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from email.headerregistry import Address
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Security = Literal["starttls", "tls", "none"]


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to deliver: parsed from ``LIMEN_SMTP_URL`` (repr hides the password)."""

    host: str
    port: int
    security: Security
    username: str | None
    password: str | None

    def __repr__(self) -> str:
        user = f"{self.username}:********@" if self.username else ""
        return f"SmtpTarget({self.security} {user}{self.host}:{self.port})"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_smtp_url(url: str) -> SmtpTarget:
    """The delivery target of a ``LIMEN_SMTP_URL``; ValueError (without the password) if bad."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("LIMEN_SMTP_URL must look like smtp://host:587 or smtps://host:465")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
    except ValueError as exc:
        raise ValueError("LIMEN_SMTP_URL has an invalid port") from exc
    tls = parse_qs(parts.query).get("tls", [""])[0]
    if tls not in ("", "none"):
        raise ValueError("LIMEN_SMTP_URL: the only option is ?tls=none (loopback servers only)")
    security: Security = "tls" if parts.scheme == "smtps" else "starttls"
    if tls == "none":
        if parts.scheme == "smtps" or not _loopback(parts.hostname):
            raise ValueError(
                "LIMEN_SMTP_URL: ?tls=none is only allowed with smtp:// to a loopback host; "
                "mail servers elsewhere need STARTTLS (smtp://) or TLS (smtps://)"
            )
        security = "none"
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class MailSettings(BaseSettings):
    """The e-mail section (``Settings.mail``): delivery, sender, verification, rate limits."""

    # A malformed LIMEN_SMTP_URL may hold a password: errors name the problem, not the value.
    model_config = SettingsConfigDict(
        env_prefix="LIMEN_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    smtp_url: str | None = None
    mail_from: str = ""  # default: "Limen <no-reply@<issuer host>>"
    smtp_timeout_seconds: float = Field(10.0, gt=0, le=120)
    # Sign-in needs a verified address (accounts provisioned by an upstream provider that
    # vouched for their address, and those an admin created, count as verified).
    email_verification_required: bool = False
    ratelimit_mail_resend: str = "3/hour"
    ratelimit_forgot_password: str = "10/minute;50/hour"  # noqa: S105 (a rate) per client address
    ratelimit_forgot_password_account: str = "3/hour;10/day"  # noqa: S105 (a rate) per address

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value:
            parse_smtp_url(value)
        return value or None

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        if value and "@" not in value:
            raise ValueError("LIMEN_MAIL_FROM must be an address, e.g. Limen <id@example.com>")
        if any(c in value for c in "\r\n"):
            raise ValueError("LIMEN_MAIL_FROM must be one line")
        return value

    def target(self) -> SmtpTarget | None:
        """The SMTP server mail goes to, or None (dev outbox, or no mail)."""
        return parse_smtp_url(self.smtp_url) if self.smtp_url else None

    def sender(self, issuer: str) -> str:
        """The From header: LIMEN_MAIL_FROM, else no-reply at the issuer's host."""
        if self.mail_from:
            return self.mail_from
        host = urlsplit(issuer).hostname or "localhost"
        domain = host if "." in host else f"{host}.invalid"
        return str(Address("Limen", "no-reply", domain))

    def delivery(self, development: bool) -> Literal["smtp", "dev-outbox", "off"]:
        """How mail leaves: SMTP when set; else the dev outbox in dev mode; else none."""
        if self.smtp_url:
            return "smtp"
        return "dev-outbox" if development else "off"
