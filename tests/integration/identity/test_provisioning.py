"""identity.provisioning: upstream identities become users in one transaction."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, select

from webapp.identity.errors import AccountDisabled, InvalidToken, PolicyViolation
from webapp.identity.provisioning import RolePolicy, UpstreamProfile
from webapp.models import UpstreamIdentity, User

from .conftest import META, Core

POLICY = RolePolicy(role_map={"staff-admins": "admin"}, default_role="analyst")


def profile(**kwargs: object) -> UpstreamProfile:
    values: dict[str, object] = {
        "provider": "github",
        "subject": secrets.token_hex(6),
        "email": f"gh{secrets.token_hex(5)}@example.com",
        "email_verified": True,
        "name": "Octo Cat",
        **kwargs,
    }
    return UpstreamProfile(**values)  # type: ignore[arg-type]


def count_users(core: Core, email: str) -> int:
    return core.db.scalar(select(func.count()).select_from(User).where(User.email == email)) or 0


def test_a_new_upstream_person_becomes_a_user_with_mapped_roles(core: Core) -> None:
    person = profile(groups=("staff-admins",))
    user = core.identity.provisioner.sign_in(person, POLICY, META)

    assert (user.email, user.display_name, user.role_names) == (
        person.email,
        "Octo Cat",
        ("admin",),
    )
    link = core.db.scalar(select(UpstreamIdentity).where(UpstreamIdentity.user_id == user.id))
    assert link is not None and (link.provider, link.subject) == ("github", person.subject)


def test_the_same_upstream_subject_signs_in_as_the_same_user(core: Core) -> None:
    person = profile()
    first = core.identity.provisioner.sign_in(person, POLICY, META)
    again = core.identity.provisioner.sign_in(person, POLICY, META)
    assert again.id == first.id and count_users(core, str(person.email)) == 1


@pytest.mark.parametrize(
    "person",
    [profile(email_verified=False), profile(email=""), profile(groups=("guests",))],
    ids=["unverified", "no-email", "no-group"],
)
def test_a_refused_profile_leaves_nothing_behind(core: Core, person: UpstreamProfile) -> None:
    policy = RolePolicy(role_map=POLICY.role_map, default_role=None) if person.groups else POLICY
    with pytest.raises(PolicyViolation):
        core.identity.provisioner.sign_in(person, policy, META)
    assert count_users(core, str(person.email)) == 0
    # Nothing under the upstream subject either (the no-email case has no address to count).
    link = core.db.scalar(
        select(UpstreamIdentity).where(
            UpstreamIdentity.provider == person.provider,
            UpstreamIdentity.subject == person.subject,
        )
    )
    assert link is None


def test_an_existing_local_account_is_linked_only_when_allowed(core: Core) -> None:
    local = core.user()
    person = profile(email=local.email)

    with pytest.raises(PolicyViolation):
        core.identity.provisioner.sign_in(person, POLICY, META)
    assert (
        core.db.scalar(select(UpstreamIdentity).where(UpstreamIdentity.user_id == local.id)) is None
    )

    linking = RolePolicy(default_role="analyst", link_by_email=True)
    assert core.identity.provisioner.sign_in(person, linking, META).id == local.id


def test_losing_the_admin_group_upstream_removes_the_role_and_ends_sessions(core: Core) -> None:
    person = profile(groups=("staff-admins",))
    user = core.identity.provisioner.sign_in(person, POLICY, META)
    tokens = core.identity.upstream_login(person, POLICY, META)

    demoted = UpstreamProfile(**{**person.__dict__, "groups": ()})
    assert core.identity.provisioner.sign_in(demoted, POLICY, META).role_names == ("analyst",)
    with pytest.raises(InvalidToken):
        core.principal(tokens.access_token)
    assert core.identity.users.get(user.id).role_names == ("analyst",)


def test_a_disabled_user_is_refused_upstream_too(core: Core) -> None:
    admin = core.user(("admin",))
    person = profile()
    user = core.identity.provisioner.sign_in(person, POLICY, META)
    core.identity.users.set_active(user.id, False, actor=admin.id)

    with pytest.raises(AccountDisabled):
        core.identity.provisioner.sign_in(person, POLICY, META)
