"""Authorization as data: which permission each role grants.

Token and API-key scopes are permission names; what a principal may do is the intersection of
what its roles grant and what its credential's scopes allow. This table is the one source: the
built-in Cedar policies that decide every admin check (``webapp.authz.admin``) are written from
it, and delegation reads it to bound what a credential may hand on.
"""

from __future__ import annotations

from collections.abc import Iterable

ANALYST = "analyst"
ADMIN = "admin"
SERVICE = "service"  # clients acting for themselves; bounded by the scopes an admin gave them

ANALYST_PERMISSIONS = frozenset(
    {"profile", "keys:read", "keys:write", "sessions:read", "sessions:write", "authz:evaluate"}
)
ADMIN_PERMISSIONS = ANALYST_PERMISSIONS | frozenset(
    {
        "users:read",
        "users:write",
        "clients:read",
        "clients:write",
        "audit:read",
        "jobs:read",
        "jobs:write",
        "signing-keys:write",
        "authz:read",
        "authz:write",
    }
)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    ANALYST: ANALYST_PERMISSIONS,
    ADMIN: ADMIN_PERMISSIONS,
    SERVICE: ADMIN_PERMISSIONS,
}
ALL_PERMISSIONS = frozenset().union(*ROLE_PERMISSIONS.values())
# The one list of permission names and of the roles a person can hold: the API's models, the
# portal and the CLI read them from here (a migration that seeds them is checked against them).
PERMISSIONS: tuple[str, ...] = tuple(sorted(ALL_PERMISSIONS))
PERSON_ROLES: tuple[str, ...] = (ADMIN, ANALYST)


def permissions_for(roles: Iterable[str]) -> frozenset[str]:
    """Every permission ``roles`` grant together; unknown roles grant nothing."""
    granted: frozenset[str] = frozenset()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return granted
