"""The decision function: one organisation's parsed policies and entities (a ``Snapshot``),
sliced per request to the policies and entities that can apply, and decided by Cedar.

Slicing: a policy whose scope names a principal (``==``/``in``) can only apply when that
entity is the request's principal or one of its ancestors; the same for the resource and
action. Policies whose scope names nothing there are always kept. Each distinct slice is
parsed once per snapshot and kept (a small LRU), so a decision never re-parses policies. The
entities handed to Cedar are the principal, the resource, their ancestors, and the entities
their attributes point at directly.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import cedarpy

from .errors import BadDecisionRequest
from .schema import ORG, TEAM, USER, CheckedSchema

Uid = tuple[str, str]  # (entity type, id)
SLICE_CACHE = 2048


_UID = re.compile(r'^(?P<type>[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)::"(?P<id>.*)"$')


def parse_uid(text: str, default_type: str | None = None) -> Uid:
    """``Type::"id"`` (Cedar's form) or a bare id of ``default_type``; ValueError otherwise."""
    match = _UID.match(text.strip())
    if match:
        return match["type"], json.loads(f'"{match["id"]}"')
    if default_type and text.strip():
        return default_type, text.strip()
    raise ValueError(f'{text[:100]!r} is not an entity; write it as Type::"id".')


def uid_text(uid: Uid) -> str:
    """``Type::"id"``, the way Cedar writes an entity uid."""
    return f"{uid[0]}::{json.dumps(uid[1])}"


@dataclass(frozen=True)
class Member:
    """A person in the organisation as the engine sees them."""

    email: str
    teams: tuple[str, ...]


@dataclass(frozen=True)
class Request:
    """One question: may ``principal`` do ``action`` on ``resource`` in ``context``?"""

    principal: Uid
    action: str  # a Cedar action uid, e.g. Acme::Action::"read"
    resource: Uid
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """Cedar's answer, with the policies that determined it and any evaluation errors."""

    allowed: bool
    reasons: list[dict[str, str]]
    errors: list[str]
    policies_considered: int


def _scope_keys(constraint: dict[str, Any]) -> frozenset[Uid] | None:
    """The entities a scope constraint requires among the request's ancestors (None: any)."""
    op = constraint.get("op")
    if op in ("==", "in") and "entity" in constraint:
        entity = constraint["entity"]
        return frozenset({(entity["type"], entity["id"])})
    if op == "in" and "entities" in constraint:
        return frozenset((e["type"], e["id"]) for e in constraint["entities"])
    if op == "is" and isinstance(constraint.get("in"), dict) and "entity" in constraint["in"]:
        entity = constraint["in"]["entity"]
        return frozenset({(entity["type"], entity["id"])})
    return None


def _fill_slots(est: dict[str, Any], values: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A template's EST with its slots filled: the linked policy as a static one."""
    filled = json.loads(json.dumps(est))
    for part, slot in (("principal", "?principal"), ("resource", "?resource")):
        constraint = filled[part]
        if constraint.get("slot") == slot:
            constraint.pop("slot")
            constraint["entity"] = values[slot]
        inner = constraint.get("in")
        if isinstance(inner, dict) and inner.get("slot") == slot:
            constraint["in"] = {"entity": values[slot]}
    return filled


def policy_table(text: str, links: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every evaluable policy (static ones and template links) as EST, by policy id."""
    est = json.loads(cedarpy.policies_to_json_str(text)) if text.strip() else {}
    table: dict[str, dict[str, Any]] = dict(est.get("staticPolicies") or {})
    templates = est.get("templates") or {}
    by_annotation = {t.get("annotations", {}).get("id"): k for k, t in templates.items()}
    for item in links:
        key = (
            item["template"]
            if item["template"] in templates
            else by_annotation.get(item["template"])
        )
        if key is None:
            continue
        values = {f"?{slot}": item[slot] for slot in ("principal", "resource") if slot in item}
        table[item["id"]] = _fill_slots(templates[key], values)
    return table


class Snapshot:
    """One organisation at one revision: schema, indexed policies and entities."""

    def __init__(
        self,
        org_id: str,
        revision: int,
        schema: CheckedSchema,
        policies: dict[str, dict[str, Any]],
        entities: dict[Uid, dict[str, Any]],
    ) -> None:
        self.org_id = org_id
        self.revision = revision
        self.schema = schema
        self.policies = policies
        self.entities = entities
        self._index: dict[str, dict[Uid | None, list[str]]] = {"principal": {}, "resource": {}}
        self._actions: dict[str, frozenset[Uid] | None] = {}
        for pid, est in policies.items():
            for part in ("principal", "resource"):
                for key in _scope_keys(est[part]) or [None]:
                    self._index[part].setdefault(key, []).append(pid)
            self._actions[pid] = _scope_keys(est["action"])
        self._slices: OrderedDict[frozenset[str], cedarpy.PolicySet] = OrderedDict()
        self._by_type: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def build(
        org_id: str,
        revision: int,
        schema: CheckedSchema,
        policies: dict[str, dict[str, Any]],
        members: Iterable[Member],
        resources: Iterable[dict[str, Any]],
    ) -> Snapshot:
        """Assemble the entity graph: the organisation, its teams, people and resources."""
        org: Uid = (ORG, org_id)
        entities: dict[Uid, dict[str, Any]] = {org: _entity(org, {}, [])}
        for member in members:
            teams = [(TEAM, t) for t in member.teams]
            for team in teams:
                entities.setdefault(team, _entity(team, {}, [org]))
            user: Uid = (USER, member.email)
            entities[user] = _entity(user, {"email": member.email}, [*teams, org])
        for row in resources:
            uid = (row["uid"]["type"], row["uid"]["id"])
            entities[uid] = row
        return Snapshot(org_id, revision, schema, policies, entities)

    def ids_of(self, type_: str) -> list[str]:
        """The ids of this type's entities, sorted (worked out once per snapshot)."""
        found = self._by_type.get(type_)
        if found is None:
            found = sorted(eid for kind, eid in self.entities if kind == type_)
            with self._lock:
                self._by_type[type_] = found
        return found

    # -- a request -------------------------------------------------------------------------
    def ancestors(self, uid: Uid, given: dict[Uid, dict[str, Any]] | None = None) -> set[Uid]:
        """``uid`` and everything it is transitively in (``given``: the request's own
        entities, looked up before the snapshot's)."""
        seen = {uid}
        todo = [uid]
        while todo:
            key = todo.pop()
            entity = given.get(key) if given and key in given else self.entities.get(key)
            for parent in entity["parents"] if entity else ():
                up = (parent["type"], parent["id"])
                if up not in seen:
                    seen.add(up)
                    todo.append(up)
        return seen

    def check(self, request: Request) -> None:
        """Refuse names the schema does not know: a typo must not read as a plain deny."""
        for role, uid in (("subject", request.principal), ("resource", request.resource)):
            if uid[0] not in self.schema.entity_types:
                raise BadDecisionRequest(
                    f"Unknown {role} type {uid[0]!r}; the schema declares: "
                    f"{', '.join(sorted(self.schema.entity_types))}.",
                    "unknown-entity-type",
                )
        if request.action not in self.schema.actions:
            raise BadDecisionRequest(
                f"Unknown action {request.action}; the schema declares: "
                f"{', '.join(sorted(self.schema.actions))}.",
                "unknown-action",
            )

    def action(self, name: str) -> str:
        """A Cedar action uid from ``Ns::Action::"name"`` or a bare name unique in the schema."""
        known = self.schema.actions
        found = [name] if "::" in name else [a for a in known if action_uid(a)[1] == name]
        if len(found) == 1:
            return found[0]
        raise BadDecisionRequest(
            f"Unknown action {name!r}; the schema declares: {', '.join(sorted(known))}.",
            "unknown-action",
        )

    def applicable(self, principal: set[Uid], action: str, resource: set[Uid]) -> frozenset[str]:
        """Ids of the policies whose scope can match these ancestors and this action."""
        actions = {action_uid(action), *(action_uid(a) for a in self.schema.actions[action])}
        by_principal = self._matching("principal", principal)
        by_resource = self._matching("resource", resource)
        return frozenset(
            pid
            for pid in by_principal & by_resource
            if (keys := self._actions[pid]) is None or keys & actions
        )

    def _matching(self, part: str, ancestors: set[Uid]) -> set[str]:
        index = self._index[part]
        found = set(index.get(None, ()))
        for key in ancestors:
            found.update(index.get(key, ()))
        return found

    def policy_set(self, ids: frozenset[str]) -> cedarpy.PolicySet:
        """The parsed policy set of one slice, parsed once and kept."""
        with self._lock:
            found = self._slices.get(ids)
            if found is not None:
                self._slices.move_to_end(ids)
                return found
        est = {
            "staticPolicies": {pid: self.policies[pid] for pid in ids},
            "templates": {},
            "templateLinks": [],
        }
        parsed = cedarpy.PolicySet.from_json_str(json.dumps(est))
        with self._lock:
            self._slices[ids] = parsed
            while len(self._slices) > SLICE_CACHE:
                self._slices.popitem(last=False)
        return parsed

    def entity_slice(
        self, uids: set[Uid], given: dict[Uid, dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """The entities Cedar gets: these, plus those their attributes point at."""
        known = {**self.entities, **given} if given else self.entities
        chosen = {uid: known[uid] for uid in uids if uid in known}
        for entity in list(chosen.values()):
            for ref in _entity_refs(entity.get("attrs") or {}):
                if ref in self.entities:
                    chosen.setdefault(ref, self.entities[ref])
        return list(chosen.values())

    def decide(self, request: Request, given: dict[Uid, dict[str, Any]] | None = None) -> Decision:
        """Cedar's decision on ``request`` over the slice that can apply to it; ``given`` are
        entities the request brings itself (Limen's own checks: the caller and its roles)."""
        self.check(request)
        principal = self.ancestors(request.principal, given)
        resource = self.ancestors(request.resource, given)
        ids = self.applicable(principal, request.action, resource)
        result = cedarpy.is_authorized(
            {
                "principal": {"type": request.principal[0], "id": request.principal[1]},
                "action": request.action,
                "resource": {"type": request.resource[0], "id": request.resource[1]},
                "context": request.context,
            },
            self.policy_set(ids),
            self.entity_slice(principal | resource, given),
            schema=self.schema.parsed,
        )
        errors = list(result.diagnostics.errors)
        if result.decision == cedarpy.Decision.NoDecision:
            raise BadDecisionRequest("; ".join(errors) or "Cedar could not build the request.")
        return Decision(
            allowed=result.allowed,
            reasons=[self.describe(pid) for pid in result.diagnostics.reasons],
            errors=errors,
            policies_considered=len(ids),
        )

    def describe(self, pid: str) -> dict[str, str]:
        """A policy as a decision names it: its id, effect and ``@id`` annotation."""
        est = self.policies.get(pid, {})
        described = {"policy": pid, "effect": est.get("effect", "")}
        annotation = (est.get("annotations") or {}).get("id")
        if annotation:
            described["id"] = annotation
        return described


def _entity(uid: Uid, attrs: dict[str, Any], parents: list[Uid]) -> dict[str, Any]:
    return {
        "uid": {"type": uid[0], "id": uid[1]},
        "attrs": attrs,
        "parents": [{"type": p[0], "id": p[1]} for p in parents],
    }


def action_uid(action: str) -> Uid:
    """``Ns::Action::"name"`` as (``Ns::Action``, ``name``)."""
    kind, _, quoted = action.rpartition("::")
    return (kind, json.loads(quoted))


def _entity_refs(value: Any) -> Iterable[Uid]:
    if isinstance(value, dict):
        ref = value.get("__entity")
        if isinstance(ref, dict) and "type" in ref and "id" in ref:
            yield (ref["type"], ref["id"])
            return
        for item in value.values():
            yield from _entity_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _entity_refs(item)
