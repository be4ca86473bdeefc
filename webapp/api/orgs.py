"""/api/v1/orgs: organisations, their members and teams, resource entities and versioned
Cedar policies (admin). Every refusal is a problem document and leaves nothing written."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from sqlalchemy import select

from webapp.authz import BadDecisionRequest, Request
from webapp.authz.engine import Snapshot
from webapp.authz.schema import USER
from webapp.extensions import db, identity
from webapp.http import current_principal, parse_body, require
from webapp.identity.errors import NotFound
from webapp.models import AuthzPolicyVersion, User
from webapp.openapi import documented
from webapp.schemas import (
    DecisionCase,
    EntitiesPut,
    MemberPut,
    OrgCreate,
    OrgOut,
    PolicyDocument,
    PolicyTest,
    PolicyVersionOut,
    RollbackRequest,
)

from . import bp


def _actor() -> str:
    principal = current_principal()
    assert principal is not None  # behind require()
    return principal.sub


def _user(email: str) -> User:
    key = identity().emails.key_or_none(email)
    user = db.session.scalar(select(User).where(User.email_normalized == key)) if key else None
    if user is None:
        raise NotFound(f"There is no account {email[:100]!r}.")
    return user


def _version_out(row: AuthzPolicyVersion, *, full: bool = False) -> dict[str, Any]:
    data = PolicyVersionOut.model_validate(row).model_dump(mode="json")
    if full:
        data |= {"schema": row.schema_json, "policies": row.policies, "links": row.links}
    return data


def _org_out(org_id: str) -> dict[str, Any]:
    policies = identity().policies
    org = policies.org(org_id)
    data = OrgOut.model_validate(org).model_dump(mode="json")
    data["version"] = policies.current(org_id).version
    data["members"] = [{"email": m.email, "teams": list(m.teams)} for m in policies.members(org_id)]
    return data


@bp.get("/orgs")
@documented("List organisations")
@require("authz:read")
def list_orgs() -> Response:
    """List organisations."""
    orgs = identity().policies.orgs()
    return jsonify({"items": [OrgOut.model_validate(o).model_dump(mode="json") for o in orgs]})


@bp.post("/orgs")
@documented(
    "Create an organisation; you become its first administrator",
    body=OrgCreate,
    responses={201: None},
)
@require("authz:write")
def create_org() -> tuple[Response, int]:
    """Create an organisation; you become its first administrator."""
    body = parse_body(OrgCreate)
    owner = db.session.get(User, _actor())
    if owner is None:
        raise NotFound("Organisations are created by a person (its first administrator).")
    identity().policies.create_org(body.id, body.name, owner=owner, actor=owner.id)
    return jsonify(_org_out(body.id)), 201


@bp.get("/orgs/<org_id>")
@documented("An organisation, its policy version and its members")
@require("authz:read")
def get_org(org_id: str) -> Response:
    """An organisation, its policy version and its members."""
    return jsonify(_org_out(org_id))


@bp.put("/orgs/<org_id>/members/<email>")
@documented("Put a person in the organisation with exactly these teams", body=MemberPut)
@require("authz:write")
def put_member(org_id: str, email: str) -> Response:
    """Put a person in the organisation with exactly these teams."""
    body = parse_body(MemberPut, allow_empty=True)
    identity().policies.set_member(org_id, _user(email), body.teams, actor=_actor())
    return jsonify(_org_out(org_id))


@bp.delete("/orgs/<org_id>/members/<email>")
@documented("Take a person out of the organisation", responses={204: None})
@require("authz:write")
def delete_member(org_id: str, email: str) -> tuple[str, int]:
    """Take a person out of the organisation."""
    identity().policies.remove_member(org_id, _user(email), actor=_actor())
    return "", 204


@bp.put("/orgs/<org_id>/entities")
@documented("Create or replace resource entities (Cedar JSON form)", body=EntitiesPut)
@require("authz:write")
def put_entities(org_id: str) -> Response:
    """Create or replace resource entities (Cedar JSON form)."""
    body = parse_body(EntitiesPut)
    items = [e.model_dump() for e in body.entities]
    count = identity().policies.put_entities(org_id, items, actor=_actor())
    return jsonify({"stored": count})


@bp.delete("/orgs/<org_id>/entities/<path:uid>")
@documented("Remove a resource entity (path: TYPE/ID)", responses={204: None})
@require("authz:write")
def delete_entity(org_id: str, uid: str) -> tuple[str, int]:
    """Remove a resource entity (path: TYPE/ID)."""
    type_, _, eid = uid.rpartition("/")
    identity().policies.delete_entity(org_id, type_, eid, actor=_actor())
    return "", 204


@bp.get("/orgs/<org_id>/policies")
@documented("The policy version in force: schema, policies, template links")
@require("authz:read")
def get_policies(org_id: str) -> Response:
    """The policy version in force: schema, policies, template links."""
    identity().policies.org(org_id)
    return jsonify(_version_out(identity().policies.current(org_id), full=True))


@bp.put("/orgs/<org_id>/policies")
@documented(
    "Save a new policy version (validated by Cedar first)",
    body=PolicyDocument,
    responses={201: None},
)
@require("authz:write")
def put_policies(org_id: str) -> tuple[Response, int]:
    """Save a new policy version (validated by Cedar first)."""
    body = parse_body(PolicyDocument)
    row = identity().policies.save(
        org_id,
        schema=body.schema_,
        policies=body.policies,
        links=body.links_data(),
        actor=_actor(),
        note=body.note,
    )
    return jsonify(_version_out(row, full=True)), 201


@bp.post("/orgs/<org_id>/policies/validate")
@documented("Validate a policy document without saving it", body=PolicyDocument)
@require("authz:read")
def validate_policies(org_id: str) -> Response:
    """Validate a policy document without saving it."""
    body = parse_body(PolicyDocument)
    identity().policies.check(org_id, body.schema_, body.policies, body.links_data())
    return jsonify({"valid": True})


def _run_case(snapshot: Snapshot, case: DecisionCase) -> dict[str, Any]:
    result: dict[str, Any] = {"name": case.name, "expected": case.expect}
    subject_id = case.subject.id
    if case.subject.type == USER:
        subject_id = identity().emails.key_or_none(subject_id) or subject_id
    try:
        request = Request(
            (case.subject.type, subject_id),
            snapshot.action(case.action),
            (case.resource.type, case.resource.id),
            case.context,
        )
        decision = snapshot.decide(request)
    except BadDecisionRequest as exc:
        return result | {"decision": None, "passed": False, "error": exc.detail}
    outcome = "allow" if decision.allowed else "deny"
    return result | {
        "decision": outcome,
        "passed": outcome == case.expect,
        "policies": decision.reasons,
    }


@bp.post("/orgs/<org_id>/policies/test")
@documented("Run expected decisions against a candidate policy document", body=PolicyTest)
@require("authz:read")
def test_policies(org_id: str) -> Response:
    """Run expected decisions against a candidate policy document."""
    body = parse_body(PolicyTest)
    candidate = identity().policies.check(org_id, body.schema_, body.policies, body.links_data())
    results = [_run_case(candidate, case) for case in body.cases]
    failed = sum(1 for r in results if not r["passed"])
    return jsonify({"results": results, "passed": len(results) - failed, "failed": failed})


@bp.get("/orgs/<org_id>/policies/versions")
@documented("Every policy version, newest first")
@require("authz:read")
def policy_history(org_id: str) -> Response:
    """Every policy version, newest first."""
    rows = identity().policies.history(org_id)
    return jsonify({"items": [_version_out(r) for r in rows]})


@bp.get("/orgs/<org_id>/policies/versions/<int:version>")
@documented("One policy version in full")
@require("authz:read")
def policy_version(org_id: str, version: int) -> Response:
    """One policy version in full."""
    identity().policies.org(org_id)
    return jsonify(_version_out(identity().policies.version(org_id, version), full=True))


@bp.post("/orgs/<org_id>/policies/rollback")
@documented(
    "Make an old version current again (as a new version)",
    body=RollbackRequest,
    responses={201: None},
)
@require("authz:write")
def rollback_policies(org_id: str) -> tuple[Response, int]:
    """Make an old version current again (as a new version)."""
    body = parse_body(RollbackRequest)
    row = identity().policies.rollback(org_id, body.version, actor=_actor())
    return jsonify(_version_out(row, full=True)), 201
