"""AuthZEN 1.0 search: ``POST /access/v1/search/subject``, ``/search/resource`` and
``/search/action``. Each pins two of subject, action and resource and lists the third that
the policies allow, a page at a time (``page.token``, ``page.limit``), decided by Cedar one
candidate at a time over the organisation's entity graph (``webapp.authz.search``).
"""

from __future__ import annotations

from typing import Any

import structlog
from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from webapp.authz import search
from webapp.authz.errors import BadDecisionRequest
from webapp.extensions import identity
from webapp.http import current_principal, parse_body, require

from . import Action, asked_org, bp, subject_uid

log = structlog.get_logger("limen.authz")


class _Open(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class Typed(_Open):
    """An entity whose id the search may leave out (the part being searched for)."""

    type: str = Field(min_length=1, max_length=200)
    id: str | None = Field(default=None, min_length=1, max_length=200)


class PageIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    token: str | None = Field(default=None, max_length=2000)
    limit: int | None = None


class SearchRequest(_Open):
    subject: Typed | None = None
    action: Action | None = None
    resource: Typed | None = None
    context: dict[str, Any] | None = None
    page: PageIn | None = None
    options: dict[str, Any] = Field(default_factory=dict)


def _entity(body: SearchRequest, part: str, *, with_id: bool) -> Typed:
    value: Typed | None = getattr(body, part)
    if value is None or (with_id and value.id is None):
        need = "a type and an id" if with_id else "a type"
        raise BadDecisionRequest(f"This search needs {part} with {need}.")
    return value


def _run(body: SearchRequest, kind: str) -> Response:
    """Resolve the request, run the search, answer in AuthZEN's shape."""
    org_id, context = asked_org(body.context)
    snapshot = identity().authz.snapshot(org_id)
    page = body.page or PageIn()
    token, limit = page.token, search.clamp_limit(page.limit)
    if kind == "subject":
        subject = _entity(body, "subject", with_id=False)
        resource = _entity(body, "resource", with_id=True)
        if body.action is None:
            raise BadDecisionRequest("This search needs an action.")
        found = search.subjects(
            snapshot,
            subject.type,
            snapshot.action(body.action.name),
            (resource.type, str(resource.id)),
            context,
            token=token,
            limit=limit,
        )
        results = [{"type": subject.type, "id": h.key} for h in found.hits]
    elif kind == "resource":
        subject = _entity(body, "subject", with_id=True)
        resource = _entity(body, "resource", with_id=False)
        if body.action is None:
            raise BadDecisionRequest("This search needs an action.")
        found = search.resources(
            snapshot,
            subject_uid(subject.type, str(subject.id)),
            snapshot.action(body.action.name),
            resource.type,
            context,
            token=token,
            limit=limit,
        )
        results = [{"type": resource.type, "id": h.key} for h in found.hits]
    else:
        subject = _entity(body, "subject", with_id=True)
        resource = _entity(body, "resource", with_id=True)
        found = search.actions(
            snapshot,
            subject_uid(subject.type, str(subject.id)),
            (resource.type, str(resource.id)),
            context,
            token=token,
            limit=limit,
        )
        results = [{"name": h.key} for h in found.hits]
    principal = current_principal()
    log.info(
        "authz.search",
        kind=kind,
        org=org_id,
        client=principal.client_id or principal.sub if principal else None,
        scanned=found.scanned,
        found=len(results),
    )
    answer: dict[str, Any] = {
        "results": results,
        "page": {"next_token": found.next_token, "count": len(results)},
    }
    if body.options.get("explain") is True:
        answer["context"] = {
            "policies": [
                {"result": r, "policies": h.decision.reasons}
                for r, h in zip(results, found.hits, strict=True)
            ]
        }
    return jsonify(answer)


@bp.post("/access/v1/search/subject")
@require("authz:evaluate")
def search_subject() -> Response:
    """Which subjects of a type may do the action on the resource?"""
    return _run(parse_body(SearchRequest), "subject")


@bp.post("/access/v1/search/resource")
@require("authz:evaluate")
def search_resource() -> Response:
    """Which resources of a type may the subject do the action on?"""
    return _run(parse_body(SearchRequest), "resource")


@bp.post("/access/v1/search/action")
@require("authz:evaluate")
def search_action() -> Response:
    """Which actions may the subject do on the resource?"""
    return _run(parse_body(SearchRequest), "action")
