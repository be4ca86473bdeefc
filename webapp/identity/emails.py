"""E-mail addresses as Limen compares them: one key per mailbox, however it is typed.

``rt-analyst@example.com`` typed in full-width letters, ``RT-Analyst@EXAMPLE.com`` and
``rt-analyst@example.com`` are one address. The key is Unicode NFKC, lower case, with the
domain in its IDNA (ASCII) form; uniqueness and sign-in compare keys
(``users.email_normalized``), people read the display form.
Internal domains (``.corp``, ``.local``...) that address validation refuses as not globally
deliverable are accepted when an administrator lists them (``LIMEN_EMAIL_INTERNAL_DOMAINS``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import idna
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session as DbSession

from webapp.models import User

from .errors import PolicyViolation

MAX_LENGTH = 320


@dataclass(frozen=True)
class Address:
    """An email address as shown (``display``) and as compared (``key``)."""

    display: str  # what is stored in users.email and shown
    key: str  # what is compared: users.email_normalized


class EmailPolicy:
    """Validates and normalises addresses; built once from settings."""

    def __init__(self, internal_domains: Iterable[str] = ()) -> None:
        self._internal = tuple(
            d.strip().strip(".").lower() for d in internal_domains if d.strip().strip(".")
        )

    def normalize(self, address: str) -> Address:
        """The address's display form and key, or PolicyViolation saying what is wrong."""
        text = unicodedata.normalize("NFKC", address).strip()
        if len(text) > MAX_LENGTH or "@" not in text:
            raise self._invalid(address, "it needs exactly one @ and at most 320 characters")
        local, _, domain = text.rpartition("@")
        domain = domain.rstrip(".").lower()
        if self._is_internal(domain):
            return self._internal_address(address, local, domain)
        try:
            checked = validate_email(text, check_deliverability=False)
        except EmailNotValidError as exc:
            raise self._invalid(address, str(exc)) from exc
        local_part = checked.local_part.lower()
        return Address(
            f"{local_part}@{checked.domain.lower()}", f"{local_part}@{checked.ascii_domain.lower()}"
        )

    def key_or_none(self, address: str) -> str | None:
        """The key, or None for something that is not a valid address (sign-in attempts)."""
        try:
            return self.normalize(address).key
        except PolicyViolation:
            return None

    def _is_internal(self, domain: str) -> bool:
        return any(domain == d or domain.endswith("." + d) for d in self._internal)

    def _internal_address(self, address: str, local: str, domain: str) -> Address:
        try:
            # The local part is checked like any other (against a stand-in public domain).
            checked = validate_email(f"{local}@example.com", check_deliverability=False)
            ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
            unicode_domain = idna.decode(ascii_domain)
        except (EmailNotValidError, idna.IDNAError, UnicodeError) as exc:
            raise self._invalid(address, str(exc)) from exc
        local_part = checked.local_part.lower()
        return Address(f"{local_part}@{unicode_domain}", f"{local_part}@{ascii_domain}")

    @staticmethod
    def _invalid(address: str, why: str) -> PolicyViolation:
        return PolicyViolation(f"'{address[:80]}' is not a valid email address: {why}")


def user_by_email(db: DbSession, key: str | None, typed: str) -> User | None:
    """The user an address names: by key; else, for an account whose key was withheld when
    it collided with another (revision 0005), by its exact stored address."""
    exact = typed.strip().lower()
    legacy = and_(User.email_normalized.is_(None), User.email == exact)
    where = or_(User.email_normalized == key, legacy) if key else legacy
    return db.scalar(select(User).where(where).order_by(User.email_normalized.is_(None)))
