"""Cedar schemas and policy text: Limen's built-in namespace, merging an organisation's
schema with it, and validation that reports Cedar's messages with a line and column.

An organisation's schema is Cedar's JSON schema format (namespaces of entity types and
actions). The ``Limen`` namespace is Limen's own and always present: people are
``Limen::User`` (id: their email address), teams ``Limen::Team`` (id: the team name) and the
organisation itself ``Limen::Organisation``; the ``Limen::Action::"administer"`` action
decides who may administer the organisation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import cedarpy

from .errors import PolicyInvalid

LIMEN = "Limen"
USER = "Limen::User"
TEAM = "Limen::Team"
ORG = "Limen::Organisation"
ADMINISTER = 'Limen::Action::"administer"'

BUILTIN_NAMESPACE: dict[str, Any] = {
    "entityTypes": {
        "User": {
            "memberOfTypes": ["Team", "Organisation"],
            "shape": {"type": "Record", "attributes": {"email": {"type": "String"}}},
        },
        "Team": {"memberOfTypes": ["Organisation"]},
        "Organisation": {},
    },
    "actions": {
        "administer": {"appliesTo": {"principalTypes": ["User"], "resourceTypes": ["Organisation"]}}
    },
}


def first_policies(org_id: str) -> str:
    """The policy set a new organisation starts with: its ``admins`` team administers it."""
    return (
        '@id("org-admins")\n'
        'permit (principal in Limen::Team::"admins", action == Limen::Action::"administer", '
        f"resource == Limen::Organisation::{json.dumps(org_id)});\n"
    )


@dataclass(frozen=True)
class CheckedSchema:
    """A merged schema Cedar accepted, with the names a decision request may use."""

    merged: dict[str, Any]
    parsed: cedarpy.Schema
    entity_types: frozenset[str]
    actions: dict[str, list[str]]  # action uid -> the action groups it is a member of


def check_schema(schema: Any) -> CheckedSchema:
    """Merge an organisation's schema with the built-in namespace and have Cedar parse it."""
    if not isinstance(schema, dict):
        raise PolicyInvalid("The schema must be a JSON object.", [{"message": "not an object"}])
    if LIMEN in schema:
        message = f"The '{LIMEN}' namespace is Limen's own; declare your types elsewhere."
        raise PolicyInvalid(message, [{"message": message}])
    return checked({**schema, LIMEN: BUILTIN_NAMESPACE})


def checked(merged: dict[str, Any]) -> CheckedSchema:
    """Have Cedar parse a complete schema and collect the entity types and actions it names."""
    try:
        parsed = cedarpy.Schema.from_json_str(json.dumps(merged))
    except (ValueError, TypeError) as exc:
        raise PolicyInvalid(
            "Cedar refused the schema; nothing was saved.", [{"message": str(exc)}]
        ) from exc
    types: set[str] = set()
    actions: dict[str, list[str]] = {}
    for ns, body in merged.items():
        prefix = f"{ns}::" if ns else ""
        if not isinstance(body, dict):
            continue
        types.update(prefix + name for name in (body.get("entityTypes") or {}))
        for name, spec in (body.get("actions") or {}).items():
            groups = (spec or {}).get("memberOf") or []
            actions[f"{prefix}Action::{json.dumps(name)}"] = [
                f"{g.get('type') or prefix + 'Action'}::{json.dumps(g['id'])}"
                for g in groups
                if isinstance(g, dict) and "id" in g
            ]
    return CheckedSchema(merged, parsed, frozenset(types), actions)


_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|;|[^";/]+|/')


def statement_starts(text: str) -> list[int]:
    """Offsets where each policy statement begins (skipping strings and comments), so a
    positional policy id (``policy3``) can be given a line and column."""
    starts: list[int] = []
    pending = True
    for match in _TOKEN.finditer(text):
        piece = match.group()
        if piece == ";":
            pending = True
        elif pending and not piece.startswith("//") and piece.strip():
            starts.append(match.start() + len(piece) - len(piece.lstrip()))
            pending = False
    return starts


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _locate(text: str, index: int) -> dict[str, int]:
    starts = statement_starts(text)
    if 0 <= index < len(starts):
        line, column = line_column(text, starts[index])
        return {"line": line, "column": column}
    return {}


def _first_unparsable(text: str) -> int:
    """Index of the first statement that does not parse on its own (-1 if unknown)."""
    starts = [*statement_starts(text), len(text)]
    for i in range(len(starts) - 1):
        try:
            cedarpy.PolicySet.from_str(text[starts[i] : starts[i + 1]])
        except ValueError:
            return i
    return -1


def parse_policies(text: str) -> cedarpy.PolicySet:
    """Parse a policy set; a syntax error names the statement's line and column."""
    try:
        return cedarpy.PolicySet.from_str(text)
    except ValueError as exc:
        where = _locate(text, _first_unparsable(text))
        raise PolicyInvalid(
            "Cedar could not parse the policies; nothing was saved.",
            [{"message": str(exc), **where}],
        ) from exc


def validate_policies(text: str, schema: CheckedSchema) -> None:
    """Cedar's validator: every policy must type-check against the schema."""
    result = cedarpy.validate_policies(text, schema.parsed)
    if result.validation_passed:
        return
    errors = []
    for error in result.errors:
        entry: dict[str, Any] = {"message": error.error}
        if error.policy_id:
            entry["policy"] = error.policy_id
            annotation = result.id_annotations_by_policy_id.get(error.policy_id)
            if annotation:
                entry["id"] = annotation
            if error.policy_id.startswith("policy") and error.policy_id[6:].isdigit():
                entry.update(_locate(text, int(error.policy_id[6:])))
        errors.append(entry)
    raise PolicyInvalid("The policies do not fit the schema; nothing was saved.", errors)


def link(policies: cedarpy.PolicySet, links: list[dict[str, Any]]) -> cedarpy.PolicySet:
    """Apply template links (``{"id", "template", "principal"?, "resource"?}``)."""
    if not links:
        return policies
    batch = []
    for item in links:
        values = {f"?{slot}": item[slot] for slot in ("principal", "resource") if slot in item}
        batch.append({"template_id": item["template"], "new_id": item["id"], "values": values})
    try:
        return policies.with_linked_batch(batch)
    except (ValueError, KeyError) as exc:
        raise PolicyInvalid(
            "A template link does not fit its template; nothing was saved.",
            [{"message": str(exc)}],
        ) from exc
