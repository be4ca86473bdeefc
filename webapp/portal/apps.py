"""The connected apps page: the applications a person allowed (remembered consent), and
taking one back, which also ends that application's sessions for them."""

from __future__ import annotations

from typing import Any

from flask import g

from webapp.extensions import identity
from webapp.http import request_meta
from webapp.scope_text import SCOPE_TEXT

from . import bp
from .guards import page, render


def apps_page(message: str | None = None) -> Any:
    """The whole page, or its ``apps`` block for an HTMX request."""
    return render(
        "apps.html",
        "apps",
        consents=identity().consents.of(g.user.id),
        scope_text=SCOPE_TEXT,
        message=message,
    )


@bp.get("/apps")
@page()
def apps() -> Any:
    return apps_page()


@bp.post("/apps/<client_id>/revoke")
@page("sessions:write")
def revoke_app(client_id: str) -> Any:
    ended = identity().consents.revoke(g.user.id, client_id, request_meta())
    sessions = f"{ended} session{'s' if ended != 1 else ''}"
    return apps_page(message=f"Access taken back; {sessions} of the application ended.")
