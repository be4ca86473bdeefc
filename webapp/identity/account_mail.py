"""Account mail: verified addresses, password resets by mailed link, and security notices.

One-time links carry ``limen_ml_<random>``; only its SHA-256 digest is stored, with the address
it was sent to, its purpose and an expiry (24 h to verify, 30 min to reset). Redeeming is one
conditional UPDATE, so a link works once however many tabs race. A reset sets the password,
ends every session and refresh token of the account through ``Revocation.revoke_user``, keeps
two-step verification as it was, and tells the owner. Notices go out unless the person turned
that kind off (``User.notices_off``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session as DbSession

from webapp.models import ApiKey, AuditEvent, EmailToken, Session, User

from .audit import AuditLog
from .crypto import sha256_hex
from .emails import EmailPolicy
from .errors import InvalidCredentials, LinkInvalid, PolicyViolation
from .mail import Outbox
from .passwords import LocalAccounts, Passwords
from .principal import RequestMeta
from .revocation import Revocation

LINK_PREFIX = "limen_ml_"
VERIFY_TTL = timedelta(hours=24)
RESET_TTL = timedelta(minutes=30)
# Security notices a person may turn off, and what the portal calls them.
NOTICES = {
    "new_device": "A sign-in from a new device or place",
    "password_changed": "My password was changed or reset",
    "email_changed": "My email address was changed",
    "mfa_disabled": "Two-step verification was turned off",
    "api_key_created": "A new API key was created",
    "passkey_added": "A passkey was added",
}
_AUDIT_NOTICES = {
    "mfa.disabled": "mfa_disabled",
    "api_key.created": "api_key_created",
    "passkey.registered": "passkey_added",
}


def _new_link_token() -> str:
    return LINK_PREFIX + secrets.token_urlsafe(32)


class AccountMail:
    """Verification and reset links, and the notices, over the outbox."""

    def __init__(
        self,
        db: DbSession,
        outbox: Outbox,
        accounts: LocalAccounts,
        passwords: Passwords,
        revocation: Revocation,
        audit: AuditLog,
        clock: Callable[[], datetime],
        emails: EmailPolicy,
    ) -> None:
        self._emails = emails
        self._db = db
        self._outbox = outbox
        self._accounts = accounts
        self._passwords = passwords
        self._revocation = revocation
        self._audit = audit
        self._clock = clock

    # -- links ---------------------------------------------------------------------------------
    def _issue(self, user: User, purpose: str, ttl: timedelta, email: str | None = None) -> str:
        """A new link for ``purpose``; earlier unused ones of the same purpose stop working."""
        now = self._clock()
        self._db.execute(
            update(EmailToken)
            .where(
                EmailToken.user_id == user.id,
                EmailToken.purpose == purpose,
                EmailToken.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        token = _new_link_token()
        self._db.add(
            EmailToken(
                user_id=user.id,
                purpose=purpose,
                token_hash=sha256_hex(token),
                email=email or user.email,
                created_at=now,
                expires_at=now + ttl,
            )
        )
        return token

    def peek(self, token: str, purpose: str) -> EmailToken:
        """The live link (not used, not expired), without using it; LinkInvalid otherwise."""
        row = self._db.scalar(
            select(EmailToken).where(
                EmailToken.token_hash == sha256_hex(token[:200]), EmailToken.purpose == purpose
            )
        )
        if row is None:
            raise LinkInvalid(
                "This link is not valid: it may be incomplete or mistyped. Copy the whole link "
                "from the mail, or ask for a new one."
            )
        if row.used_at is not None:
            raise LinkInvalid("This link was already used or replaced by a newer one.")
        if row.expires_at <= self._clock():
            raise LinkInvalid("This link has expired. Ask for a new one.")
        return row

    def _redeem(self, token: str, purpose: str) -> tuple[EmailToken, User]:
        """Use the link, once: a conditional UPDATE; the loser of a race gets LinkInvalid."""
        row = self.peek(token, purpose)
        spending = self._db.begin_nested()  # undone if the link turns out not to fit
        result = self._db.execute(
            update(EmailToken)
            .where(EmailToken.id == row.id, EmailToken.used_at.is_(None))
            .values(used_at=self._clock())
            .execution_options(synchronize_session=False)
        )
        user = self._db.get(User, row.user_id)
        if result.rowcount != 1 or user is None:  # type: ignore[attr-defined]
            spending.rollback()
            raise LinkInvalid("This link was already used or replaced by a newer one.")
        changing = row.purpose == "change"
        if (user.email != row.email and not changing) or not user.is_active:
            spending.rollback()
            raise LinkInvalid("This link is for an address or account that changed since.")
        spending.commit()
        return row, user

    # -- verified addresses --------------------------------------------------------------------
    def send_verification(self, user: User) -> None:
        """Mail a verification link for the user's current address (caller commits)."""
        token = self._issue(user, "verify", VERIFY_TTL)
        link = self._outbox.renderer.link(f"/email/verify?token={token}")
        self._outbox.compose(
            "verify_email", user.email, {"link": link, "hours": 24, "email": user.email}, user.id
        )

    def notify_registration_attempt(self, user: User) -> None:
        """Someone tried to register an address that has an account: tell its owner."""
        link = self._outbox.renderer.link("/password/forgot")
        self._outbox.compose(
            "registration_attempt", user.email, {"email": user.email, "link": link}, user.id
        )

    def verify(self, token: str, meta: RequestMeta | None = None) -> User:
        """Use a verification link: the address it was sent to is now verified."""
        _, user = self._redeem(token, "verify")
        user.email_verified_at = self._clock()
        self._audit.record("user.email_verified", user_id=user.id, actor=user.id, meta=meta)
        return user

    def request_verification(self, email: str) -> bool:
        """A resend asked for by address: sent only to an unverified, active account."""
        user = self._accounts.find(email)
        if user is None or not user.is_active or user.email_verified_at is not None:
            return False
        self.send_verification(user)
        return True

    # -- address change ------------------------------------------------------------------------
    def request_address_change(
        self, user: User, new_email: str, password: str, meta: RequestMeta | None = None
    ) -> str:
        """Mail a confirmation link to the new address (the current password proves it is the
        owner asking); the address changes only when that link is used. If the new address
        belongs to another account, its owner is told instead, and the answer is the same.
        Returns the new address as typed (normalised)."""
        if user.password_hash is None:
            raise PolicyViolation(
                "Your address comes from your identity provider; change it there."
            )
        if not self._passwords.verify(user.password_hash, password):
            raise InvalidCredentials("The current password is wrong; the address stays as it is.")
        address = self._emails.normalize(new_email)
        if address.key == user.email_normalized:
            raise PolicyViolation("That is already your address.")
        owner = self._accounts.find(address.display)
        if owner is not None:
            self.notify_registration_attempt(owner)
        else:
            token = self._issue(user, "change", VERIFY_TTL, email=address.display)
            link = self._outbox.renderer.link(f"/email/change?token={token}")
            context = {"link": link, "hours": 24, "email": address.display}
            self._outbox.compose("verify_email", address.display, context, user.id)
        self._audit.record("user.email_change_requested", user_id=user.id, actor=user.id, meta=meta)
        return address.display

    def change_address(self, token: str, meta: RequestMeta | None = None) -> User:
        """Use an address-change link: the account now has that (verified) address, and the
        old address is told. Every process forgets the old profile."""
        address = self._emails.normalize(self.peek(token, "change").email)
        if self._accounts.find(address.display) is not None:  # checked before the link is spent
            raise LinkInvalid("That address belongs to another account now; nothing changed.")
        _, user = self._redeem(token, "change")
        old = user.email
        if "email_changed" not in (user.notices_off or []):
            context = {
                "email": old,
                "new_email": address.display,
                "when": self._clock(),
                "ip": _ip(meta),
            }
            self._outbox.compose("notice_email_changed", old, context, user.id)
        user.email, user.email_normalized = address.display, address.key
        user.email_verified_at = self._clock()
        self._audit.record(
            "user.email_changed", user_id=user.id, actor=user.id, meta=meta, previous=old
        )
        self._revocation.invalidate_after_commit("email_changed")  # cached profiles everywhere
        return user

    # -- password reset ------------------------------------------------------------------------
    def request_reset(self, email: str, *, actor: str | None = None) -> bool:
        """Mail a reset link to an active local account; nothing for any other address (the
        caller answers the same either way)."""
        user = self._accounts.find(email)
        if user is None or not user.is_active or user.password_hash is None:
            return False
        token = self._issue(user, "reset", RESET_TTL)
        link = self._outbox.renderer.link(f"/password/reset?token={token}")
        self._outbox.compose(
            "password_reset", user.email, {"link": link, "minutes": 30, "by_admin": bool(actor)}
        )
        self._audit.record("user.password_reset_requested", user_id=user.id, actor=actor)
        return True

    def reset_password(self, token: str, password: str, meta: RequestMeta | None = None) -> User:
        """Use a reset link: new password, every session ended, the owner told. Two-step
        verification stays as it was, so the next sign-in still asks for the code."""
        row = self.peek(token, "reset")
        user = self._db.get(User, row.user_id)
        if user is not None:
            self._accounts.check_new_password(password, user.email)  # before using the link
        row, user = self._redeem(token, "reset")
        user.password_hash = self._passwords.hash(password)
        user.failed_login_count, user.locked_until = 0, None
        if user.email_verified_at is None:
            user.email_verified_at = self._clock()  # the link reached this mailbox
        self._audit.record("user.password_reset", user_id=user.id, actor=user.id, meta=meta)
        self.notify(user, "password_changed", {"when": self._clock(), "ip": _ip(meta)})
        self._revocation.revoke_user(user.id, reason="password_reset", actor=user.id, meta=meta)
        return user

    # -- self-service --------------------------------------------------------------------------
    def change_password(
        self,
        user: User,
        current: str,
        new: str,
        *,
        keep_session: str | None,
        end_other_sessions: bool,
        meta: RequestMeta | None = None,
    ) -> int:
        """The owner changes their password: the current one proves it is them, the new one
        meets the policy; the owner is told by mail. With ``end_other_sessions`` every
        session but ``keep_session`` is signed out. Returns how many were."""
        if user.password_hash is None:
            raise PolicyViolation(
                "You sign in through your identity provider; change your password there."
            )
        if not self._passwords.verify(user.password_hash, current):
            # not a sign-in failure (that would be a 401, which tells a client to refresh)
            raise PolicyViolation("The current password is wrong; your password stays as it is.")
        if new == current:
            raise PolicyViolation("The new password is the same as the current one; pick another.")
        self._accounts.check_new_password(new, user.email)
        user.password_hash = self._passwords.hash(new)
        ended = 0
        if end_other_sessions:
            others = self._db.scalars(
                select(Session.id).where(
                    Session.user_id == user.id,
                    Session.revoked_at.is_(None),
                    Session.id != (keep_session or ""),
                )
            )
            for sid in list(others):
                ended += self._revocation.revoke_session(
                    sid, reason="password_changed", actor=user.id, meta=meta, invalidate=False
                )
            self._revocation.invalidate_after_commit("password_changed")
        self._audit.record(
            "user.password_changed",
            user_id=user.id,
            actor=user.id,
            meta=meta,
            other_sessions_ended=ended,
        )
        context = {"when": self._clock(), "ip": _ip(meta), "others_ended": end_other_sessions}
        self.notify(user, "password_changed", {**context, "changed_by_owner": True})
        return ended

    def rename(self, user: User, display_name: str, meta: RequestMeta | None = None) -> User:
        """The owner's display name (trimmed; empty clears it). Every process forgets the
        profile it remembered (``Identity.profile``) once this commits."""
        name = " ".join(display_name.split())
        if len(name) > 200:
            raise PolicyViolation("A display name has at most 200 characters.")
        if any(ord(c) < 32 or ord(c) == 127 for c in display_name):
            raise PolicyViolation("A display name cannot contain control characters.")
        user.display_name = name
        self._audit.record("user.renamed", user_id=user.id, actor=user.id, meta=meta)
        self._revocation.invalidate_after_commit("profile_changed")
        return user

    # -- notices -------------------------------------------------------------------------------
    def notify(self, user: User, kind: str, context: dict[str, Any]) -> bool:
        """Compose a security notice unless the person turned ``kind`` off (caller commits)."""
        if kind in (user.notices_off or []):
            return False
        self._outbox.compose(
            f"notice_{kind}", user.email, {"email": user.email, **context}, user.id
        )
        return True

    def set_notices_off(self, user: User, off: set[str], meta: RequestMeta | None) -> None:
        """The notices this person does not want (unknown names are ignored)."""
        user.notices_off = sorted(off & set(NOTICES))
        self._audit.record(
            "user.notices_changed", user_id=user.id, actor=user.id, meta=meta, off=user.notices_off
        )

    def on_audit(self, event: AuditEvent) -> None:
        """The audit events that owe their subject a notice (same transaction)."""
        kind = _AUDIT_NOTICES.get(event.event)
        if kind is None or event.user_id is None or event.outcome != "success":
            return
        if kind == "api_key_created" and self._is_successor((event.details or {}).get("key_id")):
            return  # a rotation's successor (the owner's own rotate, or the schedule's)
        user = self._db.get(User, event.user_id)
        if user is not None:
            context = {"when": event.occurred_at, "ip": event.ip, **(event.details or {})}
            self.notify(user, kind, context)

    def _is_successor(self, key_id: object) -> bool:
        key = self._db.get(ApiKey, key_id) if isinstance(key_id, str) else None
        return key is not None and key.rotated_from_id is not None

    def signed_in(self, user: User, meta: RequestMeta) -> None:
        """After a sign-in: a notice when no earlier session came from this device and place
        (the same user agent and address), unless it is the account's first sign-in."""
        earlier = select(Session.id).where(Session.user_id == user.id)
        if not self._db.scalar(select(exists(earlier))):
            return
        same = earlier.where(Session.ip == meta.ip, Session.user_agent == meta.user_agent)
        if self._db.scalar(select(exists(same))):
            return
        context = {"when": self._clock(), "ip": meta.ip, "device": meta.user_agent or "unknown"}
        self.notify(user, "new_device", context)


def _ip(meta: RequestMeta | None) -> str | None:
    return meta.ip if meta else None
