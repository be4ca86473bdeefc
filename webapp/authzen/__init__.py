"""AuthZEN Authorization API 1.0: ``POST /access/v1/evaluation`` and ``/evaluations`` (batch),
the search endpoints (``search.py``), and their discovery metadata. A thin door onto
``webapp.authz``'s one decision point.

The organisation is named by ``context.org`` (removed before Cedar sees the context). Ask for
the policies that made the decision with ``"options": {"explain": true}``. A name the schema
does not know is a 400 problem; a deny of a well-formed request is a 200 answer. A person may
ask only about organisations they are a member of (administrators about any); a service
client about any (clients are not tied to organisations).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from webapp.authz import Decision, Request
from webapp.authz.errors import BadDecisionRequest
from webapp.authz.schema import USER
from webapp.errors import register_json_errors
from webapp.extensions import identity
from webapp.http import current_principal, parse_body, require, settings
from webapp.identity.errors import IdentityError, PermissionDenied
from webapp.identity.rbac import SERVICE
from webapp.problems import from_identity_error

bp = Blueprint("authzen", __name__)
register_json_errors(bp)
SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")


class _Open(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class Entity(_Open):
    type: str = Field(min_length=1, max_length=200)
    id: str = Field(min_length=1, max_length=200)


class Action(_Open):
    name: str = Field(min_length=1, max_length=200)


class Evaluation(_Open):
    subject: Entity | None = None
    action: Action | None = None
    resource: Entity | None = None
    context: dict[str, Any] | None = None


class EvaluationRequest(Evaluation):
    options: dict[str, Any] = Field(default_factory=dict)


class EvaluationsRequest(EvaluationRequest):
    evaluations: list[Evaluation] = Field(default_factory=list, max_length=100)


@bp.get("/.well-known/authzen-configuration")
def configuration() -> Response:
    """The PDP's metadata (AuthZEN 1.0 §9)."""
    iss = settings().issuer
    response = jsonify(
        {
            "policy_decision_point": iss,
            "access_evaluation_endpoint": f"{iss}/access/v1/evaluation",
            "access_evaluations_endpoint": f"{iss}/access/v1/evaluations",
            "search_subject_endpoint": f"{iss}/access/v1/search/subject",
            "search_resource_endpoint": f"{iss}/access/v1/search/resource",
            "search_action_endpoint": f"{iss}/access/v1/search/action",
        }
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def asked_org(context: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The organisation named by ``context.org`` (which the caller may ask about) and the
    rest of the context, for Cedar."""
    rest = dict(context or {})
    org_id = rest.pop("org", None)
    if not isinstance(org_id, str) or not org_id:
        raise BadDecisionRequest(
            "Name the organisation in context.org (a string).", "organisation-required"
        )
    principal = current_principal()
    if (
        principal is not None
        and SERVICE not in principal.roles
        and not identity().authz.admin_allows(principal, "authz:read")
        and not identity().policies.is_member(org_id, principal.sub)
    ):  # the same answer whether or not the organisation exists
        raise PermissionDenied(
            f"You may ask only about organisations you are a member of; {org_id[:64]!r} "
            "is not one of them."
        )
    return org_id, rest


def subject_uid(type_: str, id_: str) -> tuple[str, str]:
    """A subject as Cedar knows it: people by their address, compared as a key."""
    if type_ == USER:
        return type_, identity().emails.key_or_none(id_) or id_
    return type_, id_


def _resolve(item: Evaluation) -> tuple[str, Request]:
    """The organisation and the Cedar request of one evaluation (defaults already merged)."""
    if item.subject is None or item.action is None or item.resource is None:
        raise BadDecisionRequest("An evaluation needs a subject, an action and a resource.")
    org_id, context = asked_org(item.context)
    request = Request(
        subject_uid(item.subject.type, item.subject.id),
        identity().authz.snapshot(org_id).action(item.action.name),
        (item.resource.type, item.resource.id),
        context,
    )
    return org_id, request


def _answer(decision: Decision, explain: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"decision": decision.allowed}
    if explain:
        body["context"] = {
            "policies": decision.reasons,
            "errors": decision.errors,
            "policies_considered": decision.policies_considered,
        }
    return body


def _evaluate(item: Evaluation, explain: bool) -> dict[str, Any]:
    org_id, request = _resolve(item)
    principal = current_principal()
    client = principal.client_id or principal.sub if principal else None
    decision = identity().authz.decide(org_id, request, client=client, audit=explain)
    return _answer(decision, explain)


@bp.post("/access/v1/evaluation")
@require("authz:evaluate")
def evaluation() -> Response:
    """One decision."""
    body = parse_body(EvaluationRequest)
    return jsonify(_evaluate(body, body.options.get("explain") is True))


def _merged(defaults: EvaluationsRequest, item: Evaluation) -> Evaluation:
    return Evaluation(
        subject=item.subject or defaults.subject,
        action=item.action or defaults.action,
        resource=item.resource or defaults.resource,
        context={**(defaults.context or {}), **(item.context or {})},
    )


@bp.post("/access/v1/evaluations")
@require("authz:evaluate")
def evaluations() -> Response:
    """Many decisions in one call; a bad item answers for itself (decision false, 400)."""
    body = parse_body(EvaluationsRequest)
    explain = body.options.get("explain") is True
    semantic = body.options.get("evaluations_semantic", "execute_all")
    if semantic not in SEMANTICS:
        raise BadDecisionRequest(f"options.evaluations_semantic must be one of {SEMANTICS}.")
    if not body.evaluations:
        return jsonify(_evaluate(body, explain))
    answers = []
    for item in body.evaluations:
        try:
            answer = _evaluate(_merged(body, item), explain)
        except BadDecisionRequest as exc:
            problem = from_identity_error(exc)
            answer = {"decision": False, "context": {"code": 400, "reason": problem.detail}}
        except IdentityError as exc:  # an unknown organisation: for this item only
            problem = from_identity_error(exc)
            answer = {"decision": False, "context": {"code": problem.status, "reason": exc.detail}}
        answers.append(answer)
        if (semantic == "deny_on_first_deny" and not answer["decision"]) or (
            semantic == "permit_on_first_permit" and answer["decision"]
        ):
            break
    return jsonify({"evaluations": answers})


from . import search  # noqa: E402,F401  (routes register on bp)
