"""identity.consents: what a person allowed a client is remembered, per person and client."""

from __future__ import annotations

from .conftest import Core
from .test_clients import CALLBACK, register


def third_party(core: Core) -> str:
    client_id, _ = register(
        core, grants=["authorization_code"], scopes=["openid", "profile"], redirect_uris=[CALLBACK]
    )
    return client_id


def test_an_approval_covers_what_was_allowed_and_no_more(core: Core) -> None:
    user, client_id = core.user(), third_party(core)
    assert not core.identity.consents.covers(user.id, client_id, ["openid"])
    core.identity.consents.remember(user.id, client_id, ["openid"])
    core.db.commit()
    assert core.identity.consents.covers(user.id, client_id, ["openid"])
    assert not core.identity.consents.covers(user.id, client_id, ["openid", "profile"])


def test_approvals_add_up_and_belong_to_one_person(core: Core) -> None:
    user, other, client_id = core.user(), core.user(), third_party(core)
    core.identity.consents.remember(user.id, client_id, ["openid"])
    core.identity.consents.remember(user.id, client_id, ["profile"])
    core.db.commit()
    assert core.identity.consents.covers(user.id, client_id, ["openid", "profile"])
    assert not core.identity.consents.covers(other.id, client_id, ["openid"])


def test_a_forgotten_consent_is_asked_for_again(core: Core) -> None:
    user, client_id = core.user(), third_party(core)
    core.identity.consents.remember(user.id, client_id, ["openid"])
    core.identity.consents.forget(user.id, client_id)
    core.db.commit()
    assert not core.identity.consents.covers(user.id, client_id, ["openid"])
