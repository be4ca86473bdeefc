"""Limen's own admin checks as Cedar decisions: the built-in policies of the ``Limen`` namespace.

The role table in ``identity.rbac`` is the one source of what each role may do (delegation
reads it too); from it this module writes one ``permit`` policy per role, plus one ``forbid``
that keeps the credential rule: a token or API key is only ever as strong as its scopes. The
set is built in and immutable, so it is parsed once per process; it is not an organisation's
set and no organisation's policy can add to it.

- principal: ``Limen::User::"<sub>"`` (a person, any credential) or ``Limen::Client::"<id>"``
  (a service acting for itself), a member of ``Limen::Role::"<role>"`` for each role it holds;
- action: ``Limen::Action::"<permission>"`` (``users:read``, ``keys:write``, ...);
- resource: ``Limen::Server::"limen"``;
- context: ``{"scope_held": bool}``: the credential's scopes include the permission.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from webapp.identity.principal import Principal
from webapp.identity.rbac import PERMISSIONS, ROLE_PERMISSIONS, SERVICE

from .engine import Request, Snapshot, Uid, policy_table
from .schema import LIMEN, checked, validate_policies

ROLE = "Limen::Role"
ACCOUNT = "Limen::User"
CLIENT = "Limen::Client"
SERVER: Uid = ("Limen::Server", "limen")
SCOPE_POLICY = "limen-credential-scope"

_PRINCIPALS = ["User", "Client"]
SYSTEM_SCHEMA: dict[str, Any] = {
    LIMEN: {
        "entityTypes": {
            "Role": {},
            "User": {"memberOfTypes": ["Role"]},
            "Client": {"memberOfTypes": ["Role"]},
            "Server": {},
        },
        "actions": {
            permission: {
                "appliesTo": {
                    "principalTypes": _PRINCIPALS,
                    "resourceTypes": ["Server"],
                    "context": {
                        "type": "Record",
                        "attributes": {"scope_held": {"type": "Boolean"}},
                    },
                }
            }
            for permission in PERMISSIONS
        },
    }
}


def action_uid(permission: str) -> str:
    """The Cedar action of a permission: ``Limen::Action::"users:read"``."""
    return f"{LIMEN}::Action::{json.dumps(permission)}"


def system_policies() -> str:
    """The built-in policy text, written from the role table (``identity.rbac``)."""
    server = f"{SERVER[0]}::{json.dumps(SERVER[1])}"
    statements = []
    for role, permissions in sorted(ROLE_PERMISSIONS.items()):
        actions = ", ".join(action_uid(p) for p in sorted(permissions))
        statements.append(
            f'@id("limen-role-{role}")\n'
            f"permit (principal in {ROLE}::{json.dumps(role)}, action in [{actions}], "
            f"resource == {server});\n"
        )
    statements.append(
        f'@id("{SCOPE_POLICY}")\n'
        f"forbid (principal, action, resource == {server})\n"
        "  unless { context.scope_held };\n"
    )
    return "\n".join(statements)


@cache
def system_snapshot() -> Snapshot:
    """Limen's own policies, validated against their schema and indexed like any set."""
    schema = checked(SYSTEM_SCHEMA)
    text = system_policies()
    validate_policies(text, schema)
    server = {"uid": {"type": SERVER[0], "id": SERVER[1]}, "attrs": {}, "parents": []}
    return Snapshot(LIMEN, 0, schema, policy_table(text, []), {SERVER: server})


def caller(principal: Principal) -> tuple[Uid, dict[Uid, dict[str, Any]]]:
    """The principal as a Cedar entity, with its roles as parents (the request's entities)."""
    uid: Uid = (CLIENT if SERVICE in principal.roles else ACCOUNT, principal.sub)
    roles = sorted(set(principal.roles))
    entity = {
        "uid": {"type": uid[0], "id": uid[1]},
        "attrs": {},
        "parents": [{"type": ROLE, "id": role} for role in roles],
    }
    given: dict[Uid, dict[str, Any]] = {uid: entity}
    for role in roles:
        given[(ROLE, role)] = {"uid": {"type": ROLE, "id": role}, "attrs": {}, "parents": []}
    return uid, given


def request(principal: Principal, permission: str, scope_held: bool) -> Request:
    """The question ``require(permission)`` asks about ``principal``."""
    uid, _ = caller(principal)
    return Request(uid, action_uid(permission), SERVER, {"scope_held": scope_held})
