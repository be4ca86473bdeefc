"""The person behind the browser: the portal cookie turned into (user, principal).

Pages and the OAuth authorize endpoint use the same cookie-borne access token and
``authenticate()`` as the API. An expired token is not a reason to sign in again: the page
refreshes it (HttpOnly refresh cookie) and carries on; a revoked one is.
"""

from __future__ import annotations

from typing import Any

from webapp.extensions import db
from webapp.http import current_principal
from webapp.identity import Principal
from webapp.identity import errors as ie
from webapp.models import User
from webapp.problems import Problem


class SignInRequired(Exception):
    """No usable portal session; ``expired`` means a refresh may bring it back."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("sign-in required")
        self.expired = expired


def portal_principal() -> tuple[User, Principal]:
    try:
        principal = current_principal(optional=True)
    except ie.InvalidToken as exc:
        raise SignInRequired(expired=exc.cause == "expired") from exc
    except Problem as exc:  # an Authorization header the portal cannot use
        raise SignInRequired() from exc
    if principal is None or principal.credential != "cookie":
        raise SignInRequired()
    user = db.session.get(User, principal.sub)
    if user is None or not user.is_active:
        raise SignInRequired()
    return user, principal


def signed_in_user() -> tuple[Any, Any]:
    """(user, principal) behind the portal cookie, or (None, None)."""
    try:
        return portal_principal()
    except SignInRequired:
        return None, None
