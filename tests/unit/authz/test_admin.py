"""Limen's own admin checks are Cedar decisions on the built-in set, written from the role
table: they decide exactly what the table says, scopes narrow and never widen."""

from __future__ import annotations

import itertools

import pytest

from webapp.authz import admin
from webapp.authz.decisions import DecisionPoint
from webapp.identity import rbac
from webapp.identity.errors import PermissionDenied
from webapp.identity.principal import Principal

ROLE_SETS = [(), ("analyst",), ("admin",), ("service",), ("admin", "analyst"), ("owner",)]


def principal(roles, scopes, sub="u-1") -> Principal:
    return Principal(
        sub=sub,
        roles=tuple(roles),
        scopes=frozenset(scopes),
        auth_method="password",
        credential="access_token",
    )


@pytest.fixture(scope="module")
def point() -> DecisionPoint:
    # Limen's own checks need no organisation: no store, cache or audit log is touched.
    return DecisionPoint(None, None, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("roles", ROLE_SETS)
def test_the_engine_decides_exactly_what_the_role_table_says(point, roles):
    granted = rbac.permissions_for(roles)
    for permission, held in itertools.product(rbac.PERMISSIONS, (True, False)):
        scopes = {permission} if held else set(rbac.PERMISSIONS) - {permission}
        p = principal(roles, scopes)
        assert point.admin_allows(p, permission) == (held and permission in granted), (
            roles,
            permission,
            held,
        )


def test_each_role_is_one_policy_and_scopes_are_a_forbid():
    snapshot = admin.system_snapshot()
    names = {d.get("id") for d in map(snapshot.describe, snapshot.policies)}
    assert names == {f"limen-role-{r}" for r in rbac.ROLE_PERMISSIONS} | {admin.SCOPE_POLICY}


def test_a_missing_scope_is_decided_by_the_scope_policy(point):
    p = principal(["admin"], ["profile"])
    decision = point.admin_decision(p, "keys:write", scope_held=False)
    assert not decision.allowed
    assert [r.get("id") for r in decision.reasons] == [admin.SCOPE_POLICY]
    allowed = point.admin_decision(p, "keys:write", scope_held=True)
    assert [r.get("id") for r in allowed.reasons] == ["limen-role-admin"]


def test_scopes_cannot_widen_a_role(point):
    p = principal(["analyst"], ["profile", "users:write"])
    assert point.admin_permissions(p) == ["profile"]
    with pytest.raises(PermissionDenied, match="role does not grant"):
        point.admin(p, "users:write")


def test_missing_scope_is_named(point):
    with pytest.raises(PermissionDenied, match="lacks the scope 'keys:write'") as caught:
        point.admin(principal(["admin"], ["profile"]), "keys:write")
    assert caught.value.permission == "keys:write"


def test_a_role_lacking_without_the_scope_either_names_the_role(point):
    with pytest.raises(PermissionDenied, match="role does not grant 'users:read'"):
        point.admin(principal(["analyst"], []), "users:read")


@pytest.mark.parametrize(
    "sub", ['a"b', "x::y", 'Limen::Role::"admin"', "ünï\u202ecode", "", "a" * 2000]
)
def test_hostile_subjects_are_plain_ids(point, sub):
    p = principal(["analyst"], ["users:read", "profile"], sub=sub)
    assert not point.admin_allows(p, "users:read")
    assert point.admin_allows(p, "profile")


@pytest.mark.parametrize("role", ['admin"', "Admin", "admin ", 'Limen::Role::"admin"'])
def test_lookalike_roles_grant_nothing(point, role):
    assert point.admin_permissions(principal([role], rbac.PERMISSIONS)) == []


def test_an_unknown_permission_is_a_programming_error(point):
    with pytest.raises(ValueError, match="not a Limen permission"):
        point.admin(principal(["admin"], ["users:reed"]), "users:reed")
