"""Portal views' guards: who is looking at a page (see ``webapp.browser``), what they may do there,
and how a page or its HTMX fragment is rendered.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, render_template, request
from flask_htmx import HTMX
from jinja2_fragments.flask import render_block

from webapp.browser import portal_principal
from webapp.extensions import identity
from webapp.http import known_permission

F = TypeVar("F", bound=Callable[..., Any])
htmx = HTMX()


def page(permission: str | None = None) -> Callable[[F], F]:
    """A portal view for signed-in people; with ``permission``, a 403 page for others."""

    if permission is not None:
        known_permission(permission)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user, principal = portal_principal()
            g.user, g.principal = user, principal
            if permission is not None:
                identity().authz.admin(principal, permission)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def can(permission: str) -> bool:
    principal = g.get("principal")
    return principal is not None and identity().authz.admin_allows(principal, permission)


def render(template: str, block: str | None = None, **context: Any) -> str:
    """The whole page, or just ``block`` of it for an HTMX request that targets a fragment."""
    if block and htmx and not htmx.boosted:
        return render_block(template, block, **context)  # type: ignore[no-any-return]
    return render_template(template, **context)


def ask_first(what: str, button: str, back: str) -> Any | None:
    """``None`` once the person confirmed this destructive post (``confirmed=yes``), else the
    step that asks first, saying ``what`` will happen; Cancel goes to ``back``. With
    JavaScript the form's ``hx-confirm`` asked already and sends ``confirmed`` (``hx-vals``);
    without it, or for a choice made inside the form (an emergency box ticked), this page
    asks; its button posts the same fields again, confirmed."""
    if request.form.get("confirmed") == "yes":
        return None
    fields = [
        (name, value)
        for name, values in request.form.lists()
        if name not in ("csrf_token", "confirmed")
        for value in values
    ]
    context = {"what": what, "button": button, "action": request.path, "fields": fields}
    if htmx and not htmx.boosted and htmx.target:
        return render_block("confirm.html", "confirm", target=htmx.target, back=back, **context)
    return render_template("confirm.html", target="confirm", back=back, **context)
