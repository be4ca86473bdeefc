"""Sign-in through upstream providers, clicked in Chromium: a real OpenID Provider (npm
`oidc-provider`) and the GitHub stand-in, until /api/v1/me in that browser shows the role
their groups and teams map to."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import base_env
from tests.support.github_stub import GitHubStub
from tests.support.live import LiveServer
from tests.support.oidc_op import OidcProvider
from tests.support.services import free_port

from .conftest import me_in

ACCOUNTS = {
    "dana": {
        "email": "dana@corp.example",
        "email_verified": True,
        "name": "Dana",
        "groups": ["limen-admins"],
    }
}


@pytest.fixture(scope="module")
def upstream(redis_server, make_database) -> Iterator[tuple[LiveServer, GitHubStub]]:
    """One Limen node with two providers: "corp" (oidc-provider) and "github" (the stub)."""
    port = free_port()
    client = {
        "client_id": "limen",
        "client_secret": "op-secret",
        "redirect_uris": [f"http://127.0.0.1:{port}/auth/callback/corp"],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
    }
    with OidcProvider([client], ACCOUNTS) as op, GitHubStub() as stub:
        env = base_env(
            redis_server.url,
            make_database("sqlite"),
            LIMEN_UPSTREAM_PROVIDERS="corp,github",
            LIMEN_UPSTREAM_CORP_ISSUER=op.issuer,
            LIMEN_UPSTREAM_CORP_CLIENT_ID="limen",
            LIMEN_UPSTREAM_CORP_CLIENT_SECRET="op-secret",
            LIMEN_UPSTREAM_CORP_LABEL="Corp SSO",
            LIMEN_UPSTREAM_CORP_SCOPES="openid email profile groups",
            LIMEN_UPSTREAM_CORP_ROLE_MAP="limen-admins=admin",
            LIMEN_UPSTREAM_GITHUB_TYPE="github",
            LIMEN_UPSTREAM_GITHUB_WEB_URL=stub.url,
            LIMEN_UPSTREAM_GITHUB_API_URL=f"{stub.url}/api/v3",
            LIMEN_UPSTREAM_GITHUB_CLIENT_ID="gh-client",
            LIMEN_UPSTREAM_GITHUB_CLIENT_SECRET="gh-secret",
            LIMEN_UPSTREAM_GITHUB_ALLOWED_ORGS="acme",
            LIMEN_UPSTREAM_GITHUB_ROLE_MAP="acme/platform=admin",
        )
        with LiveServer(env, port=port) as node:
            yield node, stub


def offline(page: Page) -> Page:
    """The provider's pages link web fonts; there is no internet here, so refuse at once."""
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    return page


def test_openid_provider_sign_in_maps_groups_to_admin(upstream, new_page):
    node, _ = upstream
    page = offline(new_page())
    page.goto(f"{node.url}/keys")
    page.get_by_role("link", name="Continue with Corp SSO").click()
    page.get_by_placeholder("Enter any login").fill("dana")
    page.get_by_placeholder("and password").fill("any")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{node.url}/keys")
    me = me_in(page, node)
    assert me["email"] == "dana@corp.example" and me["roles"] == ["admin"]
    assert me["auth_method"] == "upstream:corp"


def test_github_sign_in_maps_the_team_to_admin(upstream, new_page):
    node, _stub = upstream
    page = offline(new_page())
    page.goto(f"{node.url}/keys")
    page.get_by_role("link", name="Continue with GitHub").click()
    # GitHub asks the person the first time they authorize the app.
    expect(page.get_by_role("heading", name=re.compile("^Authorize"))).to_be_visible()
    page.get_by_role("button", name="Authorize").click()
    expect(page).to_have_url(f"{node.url}/keys")
    me = me_in(page, node)
    assert me["email"] == "octo@corp.example" and me["roles"] == ["admin"]
    assert me["auth_method"] == "upstream:github"


def test_htmx_request_for_the_provider_link_gets_hx_redirect(upstream):
    node, stub = upstream
    response = httpx.get(f"{node.url}/auth/login/github", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith(f"{stub.url}/login/oauth/authorize?")
