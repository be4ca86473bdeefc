"""Admin pages over decisions: "who can access this resource?" (every person and team of an
organisation, the actions they may do and the policies that permit them, built on the
AuthZEN search of ``webapp.authz.search``) and the decision log (explained decisions, from
the audit trail)."""

from __future__ import annotations

from typing import Any

from flask import request

from webapp.authz import BadDecisionRequest
from webapp.authz import search as authz_search
from webapp.authz.engine import parse_uid, uid_text
from webapp.extensions import identity

from . import bp
from .guards import page, render

PER_PAGE = 25


@bp.get("/admin/orgs/<org_id>/access")
@page("authz:read")
def admin_access(org_id: str) -> Any:
    store = identity().policies
    org = store.org(org_id)
    asked = request.args.get("resource", "").strip()[:500]
    token = request.args.get("page", "").strip()[:2000] or None
    context: dict[str, Any] = {"org": org, "asked": asked}
    if not asked:
        return render("admin_access.html", **context, rows=None)
    try:
        snapshot = identity().authz.snapshot(org_id)
        resource = parse_uid(asked)
        if resource not in snapshot.entities:
            raise BadDecisionRequest(
                f"{asked[:200]} is not a registered resource of {org.name}; register it with "
                "PUT /api/v1/orgs/ORG/entities first."
            )
        rows, next_token, undecidable = authz_search.who_can(
            snapshot, resource, token=token, limit=PER_PAGE
        )
    except (ValueError, BadDecisionRequest) as exc:
        detail = exc.detail if isinstance(exc, BadDecisionRequest) else str(exc)
        return render("admin_access.html", **context, rows=None, error=detail), 400
    return render(
        "admin_access.html",
        **context,
        rows=[{"principal": uid_text(r.principal), "actions": r.actions} for r in rows],
        next_token=next_token,
        first_page=token is None,
        undecidable=undecidable,
    )


@bp.get("/admin/decisions")
@page("audit:read")
def admin_decisions() -> Any:
    raw = request.args.get("page", "1")
    number = max(1, min(int(raw), 100_000)) if raw.isdigit() else 1
    rows, total = identity().audit.search(event="authz.decision", page=number, per_page=PER_PAGE)
    askers = identity().users.emails(r.client_id for r in rows if r.client_id)
    return render(
        "admin_decisions.html",
        rows=rows,
        total=total,
        page=number,
        pages=max(1, -(-total // PER_PAGE)),
        askers=askers,
    )
