"""Delegation: a credential hands on only what it holds, within what its subject's roles allow."""

from __future__ import annotations

import pytest

from webapp.identity.delegation import Holder, ScopeNotHeld, hand_on, may_grant_introspection
from webapp.identity.errors import PolicyViolation
from webapp.identity.principal import Principal


def api_key(roles, scopes) -> Holder:
    return Holder.of(
        Principal(
            sub="u",
            roles=tuple(roles),
            scopes=frozenset(scopes),
            auth_method="api_key",
            credential="api_key",
        )
    )


def test_a_subset_of_what_is_held_is_handed_on_sorted_and_once():
    holder = api_key(["admin"], ["keys:write", "profile"])
    assert hand_on(holder, ["profile", "keys:write", "profile"]) == ("keys:write", "profile")


def test_more_than_the_credential_holds_is_refused_naming_what_is_missing():
    with pytest.raises(ScopeNotHeld, match="users:write") as caught:
        hand_on(api_key(["admin"], ["keys:write"]), ["keys:write", "users:write"])
    assert caught.value.missing == ["users:write"]
    assert caught.value.detail.startswith("This API key cannot hand on")


def test_more_than_the_roles_allow_is_a_policy_violation():
    with pytest.raises(PolicyViolation, match="role does not allow"):
        hand_on(api_key(["analyst"], ["users:write"]), ["users:write"])
    with pytest.raises(PolicyViolation, match="Unknown"):
        hand_on(Holder.roles_of(["admin"]), ["everything"])


def test_narrowing_keeps_what_is_held_and_drops_the_rest():
    holder = api_key(["analyst"], ["profile", "users:write", "openid"])
    assert hand_on(holder, ["profile", "users:write", "openid", "nonsense"], narrow=True) == (
        "openid",
        "profile",
    )


def test_identity_scopes_pass_only_when_held():
    assert hand_on(Holder.roles_of(["analyst"]), ["openid", "offline_access"]) == (
        "offline_access",
        "openid",
    )
    assert hand_on(api_key(["analyst"], ["profile"]), ["openid"], narrow=True) == ()


def test_the_introspect_right_needs_users_read():
    may_grant_introspection(Holder.roles_of(["admin"]))
    with pytest.raises(ScopeNotHeld, match="users:read"):
        may_grant_introspection(api_key(["admin"], ["clients:write"]))
