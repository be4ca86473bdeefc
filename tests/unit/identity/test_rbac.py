"""RBAC: roles grant permissions, credentials narrow them, never widen them."""

from __future__ import annotations

import pytest

from webapp.identity import rbac
from webapp.identity.errors import PermissionDenied
from webapp.identity.principal import Principal


def principal(roles, scopes) -> Principal:
    return Principal(
        sub="u",
        roles=tuple(roles),
        scopes=frozenset(scopes),
        auth_method="password",
        credential="access_token",
    )


def test_admin_is_a_superset_of_analyst():
    assert rbac.ANALYST_PERMISSIONS < rbac.ADMIN_PERMISSIONS


def test_scopes_cannot_widen_a_role():
    p = principal(["analyst"], ["profile", "users:write"])
    assert rbac.effective_permissions(p) == {"profile"}
    with pytest.raises(PermissionDenied, match="role does not grant"):
        rbac.check(p, "users:write")


def test_missing_scope_is_named():
    with pytest.raises(PermissionDenied, match="lacks the scope 'keys:write'") as caught:
        rbac.check(principal(["admin"], ["profile"]), "keys:write")
    assert caught.value.permission == "keys:write"


def test_the_api_schema_lists_exactly_the_permissions():
    from typing import get_args

    from webapp.schemas import PermissionName

    assert set(get_args(PermissionName)) == rbac.ALL_PERMISSIONS
