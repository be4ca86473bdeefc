"""RBAC: the role table (the decisions themselves: tests/unit/authz/test_admin.py)."""

from __future__ import annotations

from webapp.identity import rbac


def test_admin_is_a_superset_of_analyst():
    assert rbac.ANALYST_PERMISSIONS < rbac.ADMIN_PERMISSIONS


def test_the_api_schema_lists_exactly_the_permissions():
    from typing import get_args

    from webapp.schemas import PermissionName

    assert set(get_args(PermissionName)) == rbac.ALL_PERMISSIONS
