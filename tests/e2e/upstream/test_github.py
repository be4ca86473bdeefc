"""GitHub (Enterprise) sign-in against a local stand-in serving GitHub's documented shapes:
org/team role mapping that follows upstream changes, an unverified primary email, a person
outside the allowed org, and a provisioning failure that leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import base_env
from tests.support.db import execute, scalar
from tests.support.github_stub import GitHubStub
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
    node.start()
    yield stub, node
    node.stop()
    stub.stop()


def sign_in(node: LiveServer) -> tuple[httpx.Response, dict]:
    with httpx.Client() as browser:
        done = browser.get(f"{node.url}/auth/login/github?next=/keys", follow_redirects=True)
        me = browser.get(f"{node.url}/api/v1/me")
        return done, (me.json() if me.status_code == 200 else {})


def test_team_maps_to_admin_and_changes_apply_at_next_sign_in(github):
    stub, node = github
    done, me = sign_in(node)
    assert done.url.path == "/keys", done.text[:300]
    assert me["email"] == "octo@corp.example" and me["roles"] == ["admin"]
    assert me["auth_method"] == "upstream:github"
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
