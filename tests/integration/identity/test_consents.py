"""identity.consents: what a person allowed a client is remembered, per person and client."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

from webapp.identity.errors import InvalidRefreshToken, InvalidToken, NotFound
from webapp.identity.oauth import OAuthService
from webapp.identity.tokens import TokenSet
from webapp.models import BackchannelDelivery, User

from .conftest import META, Core
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


def session_of(core: Core, user: User, client_id: str) -> TokenSet:
    """Tokens the client got for the person (what an authorization code buys)."""
    app = core.identity.clients.require(client_id)
    grant = OAuthService.user_grant(user, app, ["openid", "profile"], "password")
    tokens = core.identity.tokens.start_session(grant, META)
    core.db.commit()
    return tokens


def test_a_person_lists_the_clients_they_allowed_with_what_and_when(core: Core) -> None:
    user, other = core.user(), core.user()
    first, second = third_party(core), third_party(core)
    core.identity.consents.remember(user.id, first, ["openid"])
    core.clock.advance(5)
    core.identity.consents.remember(user.id, second, ["profile", "openid"])
    core.db.commit()

    listed = core.identity.consents.of(user.id)

    assert [(c.client_id, c.client_name, c.scopes) for c in listed] == [
        (second, "svc", ("openid", "profile")),
        (first, "svc", ("openid",)),
    ]
    assert listed[0].granted_at == listed[0].updated_at > listed[1].updated_at
    assert core.identity.consents.of(other.id) == []


def test_revoking_ends_that_clients_tokens_for_that_person_only(core: Core) -> None:
    user, other = core.user(), core.user()
    app, elsewhere = third_party(core), third_party(core)
    for person, client_id in ((user, app), (user, elsewhere), (other, app)):
        core.identity.consents.remember(person.id, client_id, ["openid", "profile"])
    mine, kept, theirs = (
        session_of(core, user, app),
        session_of(core, user, elsewhere),
        session_of(core, other, app),
    )

    assert core.identity.consents.revoke(user.id, app, META) == 1
    core.db.commit()

    with pytest.raises(InvalidToken):
        core.principal(mine.access_token)
    with pytest.raises(InvalidRefreshToken):
        core.identity.refresh(mine.refresh_token or "", META, client_id=app)
    core.db.rollback()
    assert not core.identity.consents.covers(user.id, app, ["openid"])
    assert core.principal(kept.access_token).client_id == elsewhere
    assert core.principal(theirs.access_token).sub == other.id
    assert core.identity.refresh(theirs.refresh_token or "", META, client_id=app).access_token
    assert core.identity.consents.covers(other.id, app, ["openid"])
    assert [c.client_id for c in core.identity.consents.of(user.id)] == [elsewhere]


def test_a_revocation_is_audited_with_what_was_taken_back(core: Core) -> None:
    user, app = core.user(), third_party(core)
    core.identity.consents.remember(user.id, app, ["openid", "profile"])
    session_of(core, user, app)

    core.identity.consents.revoke(user.id, app, META)
    core.db.commit()

    events, _ = core.identity.audit.search(user_id=user.id, event="oauth.consent_revoked")
    assert [(e.client_id, e.actor, e.details) for e in events] == [
        (app, user.id, {"scope": "openid profile", "sessions_ended": 1})
    ]


def test_a_code_not_yet_exchanged_buys_nothing_after_the_revocation(core: Core) -> None:
    user, app = core.user(), third_party(core)
    core.identity.consents.remember(user.id, app, ["openid"])
    code = secrets.token_urlsafe(24)
    core.identity.codes.issue(
        code=code,
        client_id=app,
        user_id=user.id,
        redirect_uri=CALLBACK,
        scope="openid",
        nonce=None,
        code_challenge="x" * 43,
        code_challenge_method="S256",
        auth=None,
        auth_session_id=None,
    )
    core.db.commit()

    core.identity.consents.revoke(user.id, app, META)
    core.db.commit()

    assert core.identity.codes.claim(code, app, META) is None


@pytest.mark.parametrize("remembered", [False, True])
def test_there_is_nothing_to_revoke_for_a_client_never_allowed(
    core: Core, remembered: bool
) -> None:
    user, other, app = core.user(), core.user(), third_party(core)
    if remembered:  # someone else's consent is not yours to revoke
        core.identity.consents.remember(other.id, app, ["openid"])
        core.db.commit()
    with pytest.raises(NotFound):
        core.identity.consents.revoke(user.id, app, META)
    with pytest.raises(NotFound):
        core.identity.consents.revoke(user.id, "no-such-client", META)


def test_the_client_is_owed_a_back_channel_logout_for_each_session_ended(core: Core) -> None:
    user, app = core.user(), third_party(core)
    core.identity.backchannel.set_uri(app, "https://app.example.com/backchannel")
    core.identity.consents.remember(user.id, app, ["openid"])
    tokens = session_of(core, user, app)

    core.identity.consents.revoke(user.id, app, META)
    core.db.commit()

    owed = core.db.scalars(
        select(BackchannelDelivery.session_id).where(BackchannelDelivery.client_id == app)
    ).all()
    assert owed == [tokens.session_id]
