"""identity.users: administration narrows access at once; people sign out only their own."""

from __future__ import annotations

import pytest

from webapp.identity.delegation import OPERATOR
from webapp.identity.errors import (
    AccountDisabled,
    AccountLocked,
    InvalidToken,
    NotFound,
    PolicyViolation,
)

from .conftest import META, PASSWORD, Core


def test_removing_a_role_ends_the_users_sessions(core: Core) -> None:
    admin, target = core.user(("admin",)), core.user(("admin", "analyst"))
    tokens = core.sign_in(target)

    core.identity.users.set_roles(
        target.id, ["analyst"], actor=admin.id, holder=OPERATOR, meta=META
    )

    assert core.identity.users.get(target.id).role_names == ("analyst",)
    with pytest.raises(InvalidToken) as refused:
        core.principal(tokens.access_token)
    assert refused.value.cause == "revoked_session"


def test_adding_a_role_ends_the_session_so_the_next_sign_in_carries_it(core: Core) -> None:
    admin, target = core.user(("admin",)), core.user()
    tokens = core.sign_in(target)

    core.identity.users.set_roles(target.id, ["admin", "analyst"], actor=admin.id, holder=OPERATOR)

    with pytest.raises(InvalidToken) as refused:
        core.principal(tokens.access_token)
    assert refused.value.cause == "revoked_session"
    again = core.principal(core.sign_in(target).access_token)
    assert set(again.roles) == {"admin", "analyst"}


def test_saving_the_same_roles_keeps_the_session(core: Core) -> None:
    admin, target = core.user(("admin",)), core.user()
    tokens = core.sign_in(target)

    core.identity.users.set_roles(
        target.id, list(target.role_names), actor=admin.id, holder=OPERATOR
    )

    assert core.principal(tokens.access_token).sub == target.id


@pytest.mark.parametrize("roles", [[], ["service"], ["root"]])
def test_roles_must_be_known_people_roles(core: Core, roles: list[str]) -> None:
    admin, target = core.user(("admin",)), core.user()
    with pytest.raises(PolicyViolation):
        core.identity.users.set_roles(target.id, roles, actor=admin.id, holder=OPERATOR)
    core.db.rollback()
    assert core.identity.users.get(target.id).role_names == ("analyst",)


def test_an_admin_cannot_drop_their_own_admin_role_or_lock_or_disable_themselves(
    core: Core,
) -> None:
    admin = core.user(("admin",))
    users = core.identity.users
    with pytest.raises(PolicyViolation):
        users.set_roles(admin.id, ["analyst"], actor=admin.id, holder=OPERATOR)
    with pytest.raises(PolicyViolation):
        users.lock(admin.id, actor=admin.id)
    with pytest.raises(PolicyViolation):
        users.set_active(admin.id, False, actor=admin.id)
    core.db.rollback()
    assert core.sign_in(admin).access_token


def test_lock_ends_sessions_and_refuses_the_password_until_unlocked(core: Core) -> None:
    admin, target = core.user(("admin",)), core.user()
    tokens = core.sign_in(target)

    core.identity.users.lock(target.id, actor=admin.id)
    with pytest.raises(InvalidToken):
        core.principal(tokens.access_token)
    with pytest.raises(AccountLocked) as locked:
        core.sign_in(target)
    assert locked.value.retry_after is None  # an administrator's lock does not run out

    core.identity.users.unlock(target.id, actor=admin.id)
    assert core.principal(core.sign_in(target).access_token).sub == target.id


def test_disable_ends_sessions_and_refuses_sign_in_until_enabled(core: Core) -> None:
    admin, target = core.user(("admin",)), core.user()
    tokens = core.sign_in(target)

    core.identity.users.set_active(target.id, False, actor=admin.id)
    with pytest.raises(InvalidToken):
        core.principal(tokens.access_token)
    with pytest.raises(AccountDisabled):
        core.identity.password_login(target.email, PASSWORD, META)
    core.db.rollback()

    core.identity.users.set_active(target.id, True, actor=admin.id)
    assert core.principal(core.sign_in(target).access_token).sub == target.id


def test_unknown_user_is_not_found(core: Core) -> None:
    with pytest.raises(NotFound):
        core.identity.users.set_active("no-such-user", True, actor="someone")


def test_search_matches_email_and_pages(core: Core) -> None:
    user = core.user()
    page = core.identity.users.search(user.email.split("@")[0].upper())
    assert [u.id for u in page.items] == [user.id] and page.total == 1


def test_a_person_cannot_revoke_someone_elses_session(core: Core) -> None:
    owner, stranger = core.user(), core.user()
    tokens = core.sign_in(owner)

    with pytest.raises(NotFound):
        core.identity.my_sessions.revoke(stranger.id, tokens.session_id)
    assert core.principal(tokens.access_token).sub == owner.id

    core.identity.my_sessions.revoke(owner.id, tokens.session_id)
    with pytest.raises(InvalidToken):
        core.principal(tokens.access_token)


def test_revoke_others_keeps_only_the_current_session(core: Core) -> None:
    user = core.user()
    current, other, third = core.sign_in(user), core.sign_in(user), core.sign_in(user)

    assert core.identity.my_sessions.revoke_others(user.id, current.session_id) == 2

    assert core.principal(current.access_token).sid == current.session_id
    for gone in (other, third):
        with pytest.raises(InvalidToken):
            core.principal(gone.access_token)
    assert [s.row.id for s in core.identity.my_sessions.live(user.id)] == [current.session_id]
