"""Who is looking at a portal page, and what they may do there.

Pages use the same cookie-borne access token and ``authenticate()`` as the API. An expired
token is not a reason to sign in again: the page refreshes it (HttpOnly refresh cookie) and
carries on; a revoked one is.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, render_template, request
from flask_htmx import HTMX
from jinja2_fragments.flask import render_block

from webapp.extensions import db
from webapp.http import current_principal
from webapp.identity import Principal, rbac
from webapp.identity import errors as ie
from webapp.models import User
from webapp.problems import Problem

F = TypeVar("F", bound=Callable[..., Any])
htmx = HTMX()


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


def page(permission: str | None = None) -> Callable[[F], F]:
    """A portal view for signed-in people; with ``permission``, a 403 page for others."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user, principal = portal_principal()
            g.user, g.principal = user, principal
            if permission is not None:
                rbac.check(principal, permission)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def can(permission: str) -> bool:
    principal = g.get("principal")
    return principal is not None and rbac.has_permission(principal, permission)


def render(template: str, block: str | None = None, **context: Any) -> str:
    """The whole page, or just ``block`` of it for an HTMX request that targets a fragment."""
    if block and htmx and not htmx.boosted:
        return render_block(template, block, **context)  # type: ignore[no-any-return]
    return render_template(template, **context)


def is_htmx() -> bool:
    return bool(request.headers.get("HX-Request"))
