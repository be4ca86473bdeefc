"""The API keys page: create (secret shown once), list, rotate with grace, revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import g, request, url_for

from webapp.extensions import identity
from webapp.http import FormInvalid, parse_form, request_meta
from webapp.identity import errors as ie
from webapp.identity import rbac
from webapp.identity.delegation import Holder
from webapp.schemas import ApiKeyCreate, ApiKeyRotate
from webapp.scope_text import scope_descriptions

from . import bp
from .guards import ask_first, page, render

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
    """Create a key from the form, checked by the API's own model; the secret is shown once."""
    form = request.form
    fields = {"name": form.get("name", "").strip(), "scopes": form.getlist("scopes")}
    if form.get("expires_in_days"):  # "Never" is the empty choice
        fields["expires_in_days"] = form["expires_in_days"]
    ident = identity()
    try:
        body = parse_form(ApiKeyCreate, fields)
        issued = ident.api_keys.create(
            g.user,
            body.name,
            body.scopes,
            body.expiry(ident.clock()),
            request_meta(),
            holder=_holder(),
        )
    except FormInvalid as exc:
        return keys_page(error=exc.message, status=400)
    except (ie.PolicyViolation, ie.PermissionDenied) as exc:
        return keys_page(error=exc.detail, status=400)
    return keys_page(new_key=issued)


@bp.post("/keys/<key_id>/rotate")
@page("keys:write")
def rotate_key(key_id: str) -> Any:
    """Rotate a key; the grace period is checked by the API's own model."""
    try:
        grace = {k: v for k, v in request.form.items() if k == "grace_seconds"}
        body = parse_form(ApiKeyRotate, grace)  # absent: the API's default grace
        issued = identity().api_keys.rotate(
            g.user, key_id, timedelta(seconds=body.grace_seconds), request_meta(), holder=_holder()
        )
    except FormInvalid as exc:
        return keys_page(error=exc.message, status=400)
    except (ie.PolicyViolation, ie.NotFound, ie.PermissionDenied) as exc:
        return keys_page(error=exc.detail, status=400)
    return keys_page(new_key=issued)


@bp.post("/keys/<key_id>/revoke")
@page("keys:write")
def revoke_key(key_id: str) -> Any:
    what = "Programs using this key are refused from now on. A revoked key cannot be restored."
    if asked := ask_first(what, "Revoke the key", url_for("portal.keys")):
        return asked
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
