"""Admin pages for authorization: organisations, a policy editor whose Cedar errors are shown
in place (line, column, message; nothing saved), and "may this person do this?" with the
policies that decided."""

from __future__ import annotations

import json
from typing import Any

from flask import g, request

from webapp.authz import BadDecisionRequest, NoAdministrator, PolicyInvalid, Request
from webapp.authz.engine import parse_uid
from webapp.authz.schema import USER
from webapp.extensions import identity
from webapp.identity import errors as ie

from . import bp
from .guards import page, render


@bp.get("/admin/orgs")
@page("authz:read")
def admin_orgs() -> Any:
    return render("admin_orgs.html", orgs=identity().policies.orgs())


def editor(org_id: str, status: int = 200, **context: Any) -> Any:
    """The editor page: the version in force unless the form's text is being shown again."""
    store = identity().policies
    org = store.org(org_id)
    current = store.current(org_id)
    context.setdefault("policies", current.policies)
    context.setdefault("schema", json.dumps(current.schema_json, indent=2))
    context.setdefault("links", json.dumps(current.links, indent=2))
    return render(
        "admin_policies.html",
        org=org,
        current=current,
        history=store.history(org_id)[:10],
        members=store.members(org_id),
        **context,
    ), status


@bp.get("/admin/orgs/<org_id>/policies")
@page("authz:read")
def admin_policies(org_id: str) -> Any:
    return editor(org_id)


def _json_field(name: str, expected: type) -> Any:
    try:
        value = json.loads(request.form.get(name, "") or ("{}" if expected is dict else "[]"))
    except ValueError as exc:
        raise PolicyInvalid(f"{name} is not valid JSON.", [{"message": f"{name}: {exc}"}]) from exc
    if not isinstance(value, expected):
        raise PolicyInvalid(f"{name} has the wrong shape.", [{"message": f"{name}: wrong shape"}])
    return value


@bp.post("/admin/orgs/<org_id>/policies")
@page("authz:write")
def admin_save_policies(org_id: str) -> Any:
    form = {k: request.form.get(k, "") for k in ("policies", "schema", "links")}
    try:
        saved = identity().policies.save(
            org_id,
            schema=_json_field("schema", dict),
            policies=form["policies"],
            links=_json_field("links", list),
            actor=g.user.id,
            note=request.form.get("note", "")[:500],
        )
    except (PolicyInvalid, NoAdministrator) as exc:  # nothing was written (the checks come first)
        errors = getattr(exc, "errors", [{"message": exc.detail}])
        return editor(org_id, 422, error=exc.detail, errors=errors, **form)
    return editor(org_id, message=f"Saved version {saved.version}.")


@bp.post("/admin/orgs/<org_id>/check")
@page("authz:evaluate")
def admin_check(org_id: str) -> Any:
    asked = {k: request.form.get(k, "").strip() for k in ("subject", "action", "resource")}
    try:
        snapshot = identity().authz.snapshot(org_id)
        principal = parse_uid(asked["subject"], USER)
        if principal[0] == USER:
            principal = (USER, identity().emails.key_or_none(principal[1]) or principal[1])
        decision = identity().authz.decide(
            org_id,
            Request(principal, snapshot.action(asked["action"]), parse_uid(asked["resource"])),
            client=g.user.id,
            audit=True,
        )
    except (ValueError, BadDecisionRequest) as exc:
        detail = exc.detail if isinstance(exc, ie.IdentityError) else str(exc)
        return editor(org_id, 400, check_error=detail, asked=asked)
    return editor(org_id, decision=decision, asked=asked)
