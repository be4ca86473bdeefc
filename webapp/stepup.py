"""Step-up authentication (RFC 9470) on Limen's own sensitive actions: the HTTP glue.

``@step_up()`` goes under ``@require(...)`` on an API view (``demand()`` inside a view whose
body decides whether the action is sensitive). The rule itself is ``identity.step_up``; a
refusal is ``StepUpRequired`` (the API answers 401 with ``WWW-Authenticate: Bearer
error="insufficient_user_authentication", acr_values=..., max_age=...`` and problem+json) or
``PersonRequired`` (403). The portal turns ``StepUpRequired`` into a trip to the sign-in page
and back (``sign_in_again``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import g, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from webapp.extensions import db, identity
from webapp.handoff import navigate
from webapp.http import current_principal, safe_next, settings
from webapp.identity import step_up as rule
from webapp.identity.errors import StepUpRequired
from webapp.identity.mfa import Mfa
from webapp.models import User

F = TypeVar("F", bound=Callable[..., Any])
STEP_UP_REASON = "step-up"  # the sign-in page's ?reason= when a sensitive action sent them


def demand(*, max_age: int | None = None, acr: str | None = None, back: str | None = None) -> None:
    """Raise unless the caller's sign-in is recent and strong enough for a sensitive action
    (``max_age`` defaults to ``LIMEN_STEP_UP_MAX_AGE``; ``acr`` to the per-person rule).
    ``back``: the portal page to return to after signing in again (the action's page)."""
    principal = current_principal()
    assert principal is not None  # current_principal() raises instead
    has_second_factor = False
    if not rule.is_service(principal):
        user = db.session.get(User, principal.sub)
        has_second_factor = user is not None and Mfa.enabled(user)
    try:
        rule.check(
            principal,
            has_second_factor=has_second_factor,
            max_age=settings().step_up_max_age if max_age is None else max_age,
            now=int(identity().clock().timestamp()),
            acr=acr,
        )
    except StepUpRequired:
        g.step_up_back = back
        raise


def step_up(*, max_age: int | None = None, acr: str | None = None) -> Callable[[F], F]:
    """Guard a sensitive view (under ``@require``): see ``demand``."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            demand(max_age=max_age, acr=acr)
            return view(*args, **kwargs)

        wrapper.step_up = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def sign_in_again(exc: StepUpRequired) -> BaseResponse:
    """The portal's answer to a stale sign-in: the sign-in page (password and, for people who
    have one, the second factor), then back to the page the action was started from."""
    back = g.get("step_up_back")
    if back is None:  # the page htmx was on (no Referer: the portal sends no-referrer)
        here = request.full_path.rstrip("?") if request.method == "GET" else None
        back = here or _path_of(request.headers.get("HX-Current-URL"))
    target = safe_next(back)
    return navigate(url_for("portal.login", next=target, reason=STEP_UP_REASON))


def _path_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
