"""The API keys page: create (secret shown once), list, rotate with grace, revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import g, request

from webapp.extensions import identity
from webapp.http import request_meta
from webapp.identity import errors as ie
from webapp.identity import rbac
from webapp.identity.delegation import Holder
from webapp.scope_text import scope_descriptions

from . import bp
from .guards import page, render

EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")]
GRACE_CHOICES = [("0", "Immediately"), ("3600", "1 hour"), ("86400", "1 day"), ("604800", "7 days")]


def _holder() -> Holder:
    """The portal session, under the person's current roles: what it may hand on."""
    return Holder.of(g.principal, g.user.role_names)


def keys_page(*, new_key: Any = None, error: str | None = None, status: int = 200) -> Any:
    ident = identity()
    rows = ident.api_keys.list_for(g.user.id)
    allowed = sorted(rbac.permissions_for(g.user.role_names))
    expiring = ident.credential_rotation.upcoming_api_key_expiries(g.user.id, within_days=14)
    body = render(
        "keys.html",
        "keys",
        keys=rows,
        expiring=expiring,
        status_of=ident.api_keys.status,
        scopes=scope_descriptions(allowed),
        new_key=new_key,
        error=error,
        expiry_choices=EXPIRY_CHOICES,
        grace_choices=GRACE_CHOICES,
    )
    return body, status


@bp.get("/keys")
@page("keys:read")
def keys() -> Any:
    return keys_page()


@bp.post("/keys")
@page("keys:write")
def create_key() -> Any:
    name = request.form.get("name", "").strip()[:100]
    scopes = request.form.getlist("scopes")
    days = request.form.get("expires_in_days", "")
    if not name:
        return keys_page(error="Give the key a name, e.g. the job that will use it.", status=400)
    if days and not (days.isdigit() and 1 <= int(days) <= 366):
        return keys_page(error="Choose an expiry from the list.", status=400)
    ident = identity()
    expires_at = ident.clock() + timedelta(days=int(days)) if days else None
    try:
        issued = ident.api_keys.create(
            g.user, name, scopes, expires_at, request_meta(), holder=_holder()
        )
    except (ie.PolicyViolation, ie.PermissionDenied) as exc:
        return keys_page(error=exc.detail, status=400)
    return keys_page(new_key=issued)


@bp.post("/keys/<key_id>/rotate")
@page("keys:write")
def rotate_key(key_id: str) -> Any:
    grace = request.form.get("grace_seconds", "86400")
    if not grace.isdigit():
        return keys_page(error="Choose a grace period from the list.", status=400)
    try:
        issued = identity().api_keys.rotate(
            g.user, key_id, timedelta(seconds=int(grace)), request_meta(), holder=_holder()
        )
    except (ie.PolicyViolation, ie.NotFound, ie.PermissionDenied) as exc:
        return keys_page(error=exc.detail, status=400)
    return keys_page(new_key=issued)


@bp.post("/keys/<key_id>/revoke")
@page("keys:write")
def revoke_key(key_id: str) -> Any:
    try:
        identity().api_keys.revoke(g.user.id, key_id, request_meta())
    except ie.NotFound as exc:
        return keys_page(error=exc.detail, status=404)
    return keys_page()


@bp.post("/keys/<key_id>/collect")
@page("keys:write")
def collect_key(key_id: str) -> Any:
    try:
        secret = identity().credential_rotation.collect_api_key_secret(
            g.user.id, key_id, holder=_holder()
        )
    except (ie.NotFound, ie.PermissionDenied) as exc:
        return keys_page(error=exc.detail, status=404 if isinstance(exc, ie.NotFound) else 403)
    return keys_page(new_key=CollectedKey(secret))


class CollectedKey:
    """What the page shows after a collect: just the secret, once."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
