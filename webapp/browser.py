"""The person behind the browser: the portal cookie turned into (user, principal).

Pages and the OAuth authorize endpoint use the same cookie-borne access token and
``authenticate()`` as the API. An expired token is not a reason to sign in again: the page
refreshes it (HttpOnly refresh cookie) and carries on; a revoked one is.
"""

from __future__ import annotations

from typing import Any

from flask import request

from webapp.extensions import db, identity
from webapp.http import access_cookie_name, current_principal
from webapp.identity import Principal
from webapp.identity import errors as ie
from webapp.models import User
from webapp.problems import Problem

# Marks an authorization request the person was sent to sign in (again) for: its value is
# when they were sent; a session begun after it is that fresh sign-in (see oauth.prompts).
FRESH_SIGN_IN = "limen_signed_in_after"


def asks_fresh_sign_in(target: str) -> bool:
    """Whether the page after sign-in is a request that asked for a fresh sign-in."""
    return f"{FRESH_SIGN_IN}=" in target


class SignInRequired(Exception):
    """No usable portal session; ``expired`` means a refresh may bring it back; ``reason``
    is why the session was revoked (``sessions.revoked_reason``), to tell the person."""

    def __init__(self, expired: bool = False, reason: str | None = None) -> None:
        super().__init__("sign-in required")
        self.expired = expired
        self.reason = reason


def portal_principal() -> tuple[User, Principal]:
    try:
        principal = current_principal(optional=True)
    except ie.InvalidToken as exc:
        reason = _why_signed_out()
        raise SignInRequired(expired=exc.cause == "expired" and not reason, reason=reason) from exc
    except Problem as exc:  # an Authorization header the portal cannot use
        raise SignInRequired() from exc
    if principal is None or principal.credential != "cookie":
        raise SignInRequired()
    user = db.session.get(User, principal.sub)
    if user is None or not user.is_active:
        raise SignInRequired()
    return user, principal


def _why_signed_out() -> str | None:
    """Why the session of the refused portal cookie was revoked, if it was."""
    cookie = request.cookies.get(access_cookie_name())
    return identity().why_signed_out(cookie) if cookie else None


def signed_in_user() -> tuple[Any, Any]:
    """(user, principal) behind the portal cookie, or (None, None)."""
    try:
        return portal_principal()
    except SignInRequired:
        return None, None
