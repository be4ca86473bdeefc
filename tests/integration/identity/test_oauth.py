"""The OAuth server's core (identity.oauth, identity.oauth_codes): grants, token lookup for
revocation, introspection, and codes that are claimed once."""

from __future__ import annotations

import secrets

from webapp.identity.auth_context import AuthContext
from webapp.identity.delegation import OPERATOR, Holder
from webapp.identity.oauth import OAuthService
from webapp.models import OAuthClient, User

from .conftest import META, Core

CALLBACK = "http://127.0.0.1/callback"


def client(core: Core, scopes: list[str]) -> OAuthClient:
    row = core.identity.clients.register(
        name="app",
        grants=["authorization_code", "client_credentials"],
        scopes=scopes,
        redirect_uris=[CALLBACK],
        holder=OPERATOR,
    ).row
    core.db.commit()
    return row


def resource_server(core: Core) -> OAuthClient:
    """A client an admin gave the introspect right (RFC 7662: it may ask about any token)."""
    row = core.identity.clients.register(
        name="rs", grants=["client_credentials"], introspect=True, holder=OPERATOR
    ).row
    core.db.commit()
    return row


def issue_code(core: Core, app: OAuthClient, user: User) -> str:
    code = secrets.token_urlsafe(24)
    core.identity.codes.issue(
        code=code,
        client_id=app.client_id,
        user_id=user.id,
        redirect_uri=CALLBACK,
        scope="openid profile",
        nonce=None,
        code_challenge="x" * 43,
        code_challenge_method="S256",
        auth=None,
        auth_session_id=None,
    )
    return code


def test_a_user_grant_holds_only_scopes_the_users_roles_allow(core: Core) -> None:
    analyst, app = core.user(), client(core, ["profile", "users:write"])
    grant = OAuthService.user_grant(analyst, app, ["openid", "profile", "users:write"], "password")
    assert grant.scopes == ("openid", "profile") and grant.subject == analyst.id


def test_a_service_grant_makes_the_client_the_subject_with_real_permissions_only(
    core: Core,
) -> None:
    app = client(core, ["profile"])
    grant = OAuthService.service_grant(app, ["profile", "openid", "made-up"])
    assert (grant.subject, grant.user_id, grant.scopes) == (app.client_id, None, ("profile",))


def test_introspection_is_active_until_the_session_is_revoked(core: Core) -> None:
    user = core.user()
    tokens = core.sign_in(user)
    oauth, rs = core.identity.oauth, resource_server(core)

    active = oauth.introspect(tokens.access_token, rs)
    assert active["active"] is True
    assert (active["sub"], active["sid"], active["client_id"]) == (
        user.id,
        tokens.session_id,
        "limen-portal",
    )
    assert oauth.introspect(tokens.refresh_token or "", rs)["sub"] == user.id

    core.identity.logout(tokens.session_id, user.id, META)
    assert oauth.introspect(tokens.access_token, rs) == {"active": False}
    assert oauth.introspect(tokens.refresh_token or "", rs) == {"active": False}


def test_a_rotated_refresh_token_is_inactive(core: Core) -> None:
    tokens = core.sign_in(core.user())
    core.identity.refresh(tokens.refresh_token or "", META)
    rs = resource_server(core)
    assert core.identity.oauth.introspect(tokens.refresh_token or "", rs) == {"active": False}


def test_find_names_the_session_of_either_token_and_nothing_else(core: Core) -> None:
    user = core.user()
    tokens = core.sign_in(user)
    key = core.identity.api_keys.create(
        user, "ci", ["profile"], None, holder=Holder.roles_of(user.role_names)
    ).secret
    core.db.commit()
    oauth = core.identity.oauth

    access, refresh = oauth.find(tokens.access_token), oauth.find(tokens.refresh_token or "")
    assert access is not None and (access.kind, access.session_id) == (
        "access_token",
        tokens.session_id,
    )
    assert refresh is not None and (refresh.kind, refresh.session_id) == (
        "refresh_token",
        tokens.session_id,
    )
    assert oauth.find(key) is None and oauth.find("not-a-token") is None


def test_a_code_is_claimed_once_and_only_by_its_client(core: Core) -> None:
    user, app, other = core.user(), client(core, ["profile"]), client(core, ["profile"])
    code = issue_code(core, app, user)

    assert core.identity.codes.claim(code, other.client_id, META) is None
    claimed = core.identity.codes.claim(code, app.client_id, META)
    assert claimed is not None and claimed.user_id == user.id
    assert core.identity.codes.claim(code, app.client_id, META) is None


def test_replaying_a_code_revokes_the_session_it_created(core: Core) -> None:
    user, app = core.user(), client(core, ["profile"])
    code = issue_code(core, app, user)
    claimed = core.identity.codes.claim(code, app.client_id, META)
    assert claimed is not None
    grant = OAuthService.user_grant(user, app, ["profile"], "password")
    tokens = core.identity.tokens.start_session(grant, META)
    core.identity.codes.bind_session(claimed.id, tokens.session_id)
    assert core.principal(tokens.access_token).client_id == app.client_id

    assert core.identity.codes.claim(code, app.client_id, META) is None
    rs = resource_server(core)
    assert core.identity.oauth.introspect(tokens.access_token, rs) == {"active": False}


def test_an_expired_code_is_refused(core: Core) -> None:
    user, app = core.user(), client(core, ["profile"])
    code = issue_code(core, app, user)
    core.clock.advance(11 * 60)
    assert core.identity.codes.claim(code, app.client_id, META) is None


def test_session_subject_is_the_person_their_sign_in_and_the_first_scope(core: Core) -> None:
    user, app = core.user(), client(core, ["openid", "profile"])
    auth = AuthContext.of_sign_in("password", 1_700_000_000)
    grant = OAuthService.user_grant(user, app, ["openid", "profile"], "authorization_code", auth)
    tokens = core.identity.tokens.start_session(grant, META)
    core.db.commit()
    core.identity.refresh(tokens.refresh_token or "", META, client_id=app.client_id, scope="openid")
    subject = core.identity.oauth.session_subject(tokens.session_id)
    assert subject is not None and subject.user.id == user.id
    assert subject.scope == ("openid", "profile")  # as first granted, not as narrowed
    assert subject.auth == auth


def test_a_session_without_a_refresh_family_has_no_subject(core: Core) -> None:
    app = client(core, ["profile"])
    grant = OAuthService.service_grant(app, ["profile"])
    service = core.identity.tokens.service_tokens(grant, META)
    assert core.identity.oauth.session_subject(service.session_id) is None
    assert core.identity.oauth.session_subject("no-such-session") is None
