"""GitHub (Enterprise) sign-in against a local stand-in that behaves as GitHub does (an
authorization page the first time; client secret, PKCE verifier and redirect_uri checked at
the token endpoint): org/team role mapping that follows upstream changes, an unverified
primary email, a person outside the allowed org, a declined authorization, a state that does
not belong to the sign-in, a wrong client secret, and a provisioning failure; every refusal
leaves no user, identity or session behind."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from tests.conftest import base_env
from tests.support.db import execute, scalar
from tests.support.github_stub import GitHubStub, authorize
from tests.support.live import LiveServer


@pytest.fixture
def github(redis_server, make_database) -> Iterator[tuple[GitHubStub, LiveServer]]:
    stub = GitHubStub()
    stub.start()
    env = base_env(
        redis_server.url,
        make_database("sqlite"),
        LIMEN_UPSTREAM_PROVIDERS="github",
        LIMEN_UPSTREAM_GITHUB_TYPE="github",
        LIMEN_UPSTREAM_GITHUB_WEB_URL=stub.url,
        LIMEN_UPSTREAM_GITHUB_API_URL=f"{stub.url}/api/v3",
        LIMEN_UPSTREAM_GITHUB_CLIENT_ID="gh-client",
        LIMEN_UPSTREAM_GITHUB_CLIENT_SECRET="gh-secret",
        LIMEN_UPSTREAM_GITHUB_ALLOWED_ORGS="acme",
        LIMEN_UPSTREAM_GITHUB_ROLE_MAP="acme/platform=admin",
    )
    node = LiveServer(env)
    stub.callback = f"{node.url}/auth/callback/github"
    node.start()
    yield stub, node
    node.stop()
    stub.stop()


def sign_in(node: LiveServer, decision: str = "authorize") -> tuple[httpx.Response, dict]:
    with httpx.Client() as browser:
        page = browser.get(f"{node.url}/auth/login/github?next=/keys", follow_redirects=True)
        done = authorize(browser, page, decision)
        me = browser.get(f"{node.url}/api/v1/me")
        return done, (me.json() if me.status_code == 200 else {})


def assert_nothing_created(node: LiveServer) -> None:
    url = node.env["LIMEN_DATABASE_URL"]
    for table in ("users", "upstream_identities", "sessions"):
        assert scalar(url, f"SELECT count(*) FROM {table}") == 0, table  # noqa: S608


def test_team_maps_to_admin_and_changes_apply_at_next_sign_in(github):
    stub, node = github
    done, me = sign_in(node)
    assert done.url.path == "/keys", done.text[:300]
    assert me["email"] == "octo@corp.example" and me["roles"] == ["admin"]
    assert me["auth_method"] == "upstream:github"
    assert (me["amr"], me["acr"]) == (["fed"], "urn:limen:acr:1fa")  # RFC 8176 amr
    asked = stub.authorize_requests[0]  # PKCE (S256) and the registered callback
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["redirect_uri"] == stub.callback and stub.token_errors == []
    stub.teams = []  # removed from the admin team upstream
    _, me = sign_in(node)
    assert me["roles"] == ["analyst"]
    url = node.env["LIMEN_DATABASE_URL"]
    assert scalar(url, "SELECT count(*) FROM users") == 1
    assert scalar(url, "SELECT subject FROM upstream_identities") == "4242"


def test_unverified_primary_email_is_refused(github):
    stub, node = github
    stub.emails = [{"email": "octo@corp.example", "primary": True, "verified": False}]
    done, me = sign_in(node)
    assert done.status_code == 403 and "verified email" in done.text and me == {}
    assert scalar(node.env["LIMEN_DATABASE_URL"], "SELECT count(*) FROM users") == 0


def test_not_in_the_allowed_org_is_refused(github):
    stub, node = github
    stub.orgs, stub.teams = ["other-co"], []
    done, _ = sign_in(node)
    assert done.status_code == 403 and "not a member of acme" in done.text
    url = node.env["LIMEN_DATABASE_URL"]
    assert (
        scalar(url, "SELECT count(*) FROM audit_events WHERE event = 'login.upstream_failure'") == 1
    )
    assert_nothing_created(node)


def test_the_authorization_page_is_shown_once_and_cancel_declines(github):
    stub, node = github
    done, me = sign_in(node, decision="cancel")
    assert done.status_code == 401 and "You declined" in done.text and me == {}
    assert_nothing_created(node)
    _, me = sign_in(node)  # authorized now: GitHub remembers and asks no more
    assert me["email"] == "octo@corp.example" and stub.authorized


def test_a_wrong_client_secret_is_refused_by_github_and_nothing_is_created(github):
    stub, node = github
    stub.client_secret = "rotated-at-github"  # Limen still sends the old one
    done, me = sign_in(node)
    assert done.status_code == 400 and me == {}
    assert stub.token_errors == ["incorrect_client_credentials"]
    assert_nothing_created(node)


def test_an_answer_whose_state_is_not_this_sign_ins_is_refused(github):
    _, node = github
    with httpx.Client() as browser:
        page = browser.get(f"{node.url}/auth/login/github", follow_redirects=True)
        back = authorize(browser, page, follow=False).headers["Location"]
        query = dict(parse_qsl(urlsplit(back).query))
        forged = f"{back.split('?')[0]}?{urlencode({**query, 'state': 'not-this-sign-in'})}"
        done = browser.get(forged)
        me = browser.get(f"{node.url}/api/v1/me")
    assert done.status_code == 400 and "state mismatch" in done.text
    assert me.status_code == 401
    assert_nothing_created(node)


def test_provisioning_that_fails_midway_leaves_no_user_identity_or_session(github):
    _, node = github
    url = node.env["LIMEN_DATABASE_URL"]
    # Failure injection in the database itself: the identity row cannot be written, after
    # the user row already was (in the same transaction).
    execute(
        url,
        "CREATE TRIGGER refuse_identity BEFORE INSERT ON upstream_identities "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    )
    done, me = sign_in(node)
    assert done.status_code == 503 and "nothing was saved" in done.text and me == {}
    assert scalar(url, "SELECT count(*) FROM users") == 0
    assert scalar(url, "SELECT count(*) FROM upstream_identities") == 0
    assert scalar(url, "SELECT count(*) FROM sessions") == 0
