"""What a person meets when something goes wrong or is about to: error pages for browsers
(problem+json for programs), nothing cached, destructive actions that ask first (with and
without JavaScript), role changes that hold at once, and a sign-in page that says why."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.a11y import serious_findings
from tests.support.db import scalar
from tests.support.factories import PASSWORD, bearer_for, create_user

from .conftest import sign_in


def user_id(node, email: str) -> str:
    return scalar(node.env["LIMEN_DATABASE_URL"], "SELECT id FROM users WHERE email = :e", e=email)


def api_session(node, email: str) -> str:
    """A session of ``email`` begun through the JSON sign-in (this node's tokens live 10 s)."""
    login = httpx.post(f"{node.url}/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return login.json()["session_id"]


def ended(node, sid: str) -> bool:
    sql = "SELECT revoked_at FROM sessions WHERE id = :i"
    return scalar(node.env["LIMEN_DATABASE_URL"], sql, i=sid) is not None


# -- 1. error pages ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/no-such-page", "/api/v1/no-such-resource", "/oauth/nope"])
def test_a_browser_gets_a_page_for_a_missing_url_and_programs_a_problem(portal, new_page, path):
    page = new_page()
    response = page.goto(f"{portal.url}{path}")
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("link", name="Go to the start page")).to_be_visible()

    for accept in (None, "application/json", "*/*", "application/problem+json, text/html;q=0.5"):
        headers = {"Accept": accept} if accept else {}
        answer = httpx.get(f"{portal.url}{path}", headers=headers)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json", accept


def test_the_404_page_passes_axe(portal, new_page, shots):
    page = new_page()
    page.goto(f"{portal.url}/no-such-page")
    assert serious_findings(page) == []
    shots(page, "trust-404-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    assert serious_findings(page) == []
    shots(page, "trust-404-390")


def test_a_browser_gets_a_page_for_a_forbidden_api_resource(portal, new_page):
    page = new_page()
    sign_in(page, portal, create_user(portal))  # an analyst: no users:read
    response = page.goto(f"{portal.url}/api/v1/users")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You cannot open this page")).to_be_visible()
    # The same cookie from a program that asks for JSON still gets the problem document.
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    answer = httpx.get(f"{portal.url}/api/v1/users", cookies=cookies)
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_browser_that_hits_a_rate_limit_gets_a_page(make_database, start_server, new_page):
    node = start_server(make_database("sqlite"), LIMEN_RATELIMIT_LOGIN="2/minute")
    page = new_page()
    statuses = []
    for n in range(3):  # a browser posting the JSON sign-in by hand, fresh addresses
        response = page.request.post(
            f"{node.url}/auth/login",
            data={"email": f"nobody{n}@example.com", "password": "wrong"},
            headers={"Accept": "text/html,*/*;q=0.8"},
        )
        statuses.append(response.status)
    assert statuses == [401, 401, 429]
    assert response.headers["content-type"].startswith("text/html")
    assert "Slow down" in response.text()
    assert int(response.headers["retry-after"]) >= 1
    api = httpx.post(f"{node.url}/auth/login", json={"email": "x@example.com", "password": "w"})
    assert api.status_code == 429
    assert api.headers["content-type"] == "application/problem+json"


# -- 2. nothing cached ------------------------------------------------------------------------
def test_signed_in_pages_and_secrets_shown_once_are_never_cached(portal, new_page):
    page = new_page()
    sign_in(page, portal, create_user(portal))
    for path in ("/", "/keys", "/apps", "/mfa", "/notices", "/device"):
        response = page.goto(f"{portal.url}{path}")
        assert response.status == 200, path
        assert response.headers["cache-control"] == "no-store", path
    page.goto(f"{portal.url}/keys")
    page.get_by_label("Name", exact=True).fill("shown-once")
    with page.expect_response(re.compile(r"/keys$")) as created:
        page.get_by_role("button", name="Create key").click()
    assert created.value.headers["cache-control"] == "no-store"
    expect(page.locator("#new-key")).to_contain_text("limen_")


# -- 3. ask first -----------------------------------------------------------------------------
def test_ending_a_session_asks_first_and_cancel_keeps_it(portal, new_page):
    email = create_user(portal)
    other = api_session(portal, email)
    page = new_page()
    sign_in(page, portal, email)
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(page.get_by_role("button", name="Sign out everywhere else")).to_be_visible()
    assert "must sign in again" in asked[0]
    assert not ended(portal, other)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(page.get_by_role("status")).to_have_text("Signed out 1 other session.")
    assert ended(portal, other)


def test_without_javascript_revoking_a_key_shows_a_confirm_step(portal, new_page, shots):
    email = create_user(portal)
    owner = bearer_for(portal, email)
    made = httpx.post(
        f"{portal.url}/api/v1/api-keys", json={"name": "kept", "scopes": ["profile"]}, headers=owner
    ).json()
    key = {"X-API-Key": made["key"]}
    page = new_page(java_script_enabled=False)
    sign_in(page, portal, email)
    page.goto(f"{portal.url}/keys")
    page.get_by_role("button", name="Revoke key kept").click()
    expect(page.get_by_role("heading", name="Are you sure?")).to_be_visible()
    expect(page.get_by_text("Programs using this key are refused")).to_be_visible()
    shots(page, "trust-confirm-revoke-1280")
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(f"{portal.url}/keys")
    assert httpx.get(f"{portal.url}/api/v1/me", headers=key).status_code == 200

    page.get_by_role("button", name="Revoke key kept").click()
    page.get_by_role("button", name="Revoke the key").click()
    expect(page.get_by_text("revoked").first).to_be_visible()
    assert httpx.get(f"{portal.url}/api/v1/me", headers=key).status_code == 401


def test_without_javascript_disabling_a_user_asks_first(portal, new_page):
    victim = create_user(portal)
    victim_session = api_session(portal, victim)
    page = new_page(java_script_enabled=False)
    sign_in(page, portal, create_user(portal, "admin"))
    page.goto(f"{portal.url}/admin/users?q={victim}")
    page.get_by_role("button", name=f"Disable {victim}").click()
    expect(page.get_by_text("their API keys stop working")).to_be_visible()
    assert not ended(portal, victim_session)
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_text(f"Disabled {victim}.")).to_be_visible()
    assert ended(portal, victim_session)


def test_emergency_key_rotation_asks_first_with_javascript(portal, new_page, shots):
    page = new_page()
    sign_in(page, portal, create_user(portal, "admin"))
    page.goto(f"{portal.url}/admin/signing-keys")
    page.get_by_label(re.compile("Emergency")).check()
    page.get_by_role("button", name="Rotate now").click()
    expect(page.get_by_text("every session that holds a token it signed is ended")).to_be_visible()
    shots(page, "trust-confirm-emergency-1280")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="Signing keys")).to_be_visible()
    expect(page.get_by_text("Emergency rotation done")).to_have_count(0)


def test_emergency_key_rotation_runs_once_confirmed_without_javascript(
    make_database, start_server, new_page
):
    node = start_server(make_database("sqlite"))  # its own key ring: the rotation ends sessions
    page = new_page(java_script_enabled=False)
    sign_in(page, node, create_user(node, "admin"))
    page.goto(f"{node.url}/admin/signing-keys")
    page.get_by_label(re.compile("Emergency")).check()
    page.get_by_role("button", name="Rotate now").click()
    page.get_by_role("button", name="Rotate now and end those sessions").click()
    expect(page.get_by_role("status")).to_contain_text("Emergency rotation done")


def test_the_confirm_step_carries_hostile_fields_as_text(portal, new_page):
    page = new_page()
    sign_in(page, portal, create_user(portal))
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = page.request.post(
        f"{portal.url}/sessions/revoke-others",
        form={"csrf_token": token, '"><script>alert(1)</script>': '"><img src=x>'},
    )
    assert answer.status == 200
    body = answer.text()
    assert "Are you sure?" in body
    assert "<script>alert(1)</script>" not in body and "<img src=x>" not in body


def test_a_forged_destructive_post_without_csrf_changes_nothing(portal, new_page):
    email = create_user(portal)
    page = new_page()
    sign_in(page, portal, email)
    answer = page.request.post(f"{portal.url}/sessions/revoke-others", form={"confirmed": "yes"})
    assert answer.status == 400
    assert "This form has expired" in answer.text()


# -- 4 and 5. role grants hold at once; the sign-in page says why --------------------------
def test_a_granted_role_reaches_the_open_session_and_the_sign_in_page_says_why(portal, new_page):
    email = create_user(portal)
    page = new_page()
    sign_in(page, portal, email)
    expect(page.get_by_role("link", name="Users")).to_have_count(0)

    admin = bearer_for(portal, create_user(portal, "admin"))
    granted = httpx.patch(
        f"{portal.url}/api/v1/users/{user_id(portal, email)}",
        json={"roles": ["admin", "analyst"]},
        headers=admin,
    )
    assert granted.status_code == 200, granted.text

    page.get_by_role("link", name="API keys").click()
    expect(page).to_have_url(re.compile(r"/login\?next=.*why=role_added"))
    expect(page.get_by_role("status")).to_contain_text("gave you a new role")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Users")).to_be_visible()


def test_a_person_locked_by_an_admin_is_told_on_the_sign_in_page(portal, new_page):
    email = create_user(portal)
    page = new_page()
    sign_in(page, portal, email)
    admin = bearer_for(portal, create_user(portal, "admin"))
    locked = httpx.patch(
        f"{portal.url}/api/v1/users/{user_id(portal, email)}",
        json={"locked": True},
        headers=admin,
    )
    assert locked.status_code == 200
    page.reload()
    expect(page.get_by_role("status")).to_have_text(
        "An administrator locked your account, so you were signed out."
    )


@pytest.mark.parametrize("why", ["<script>alert(1)</script>", "nonsense", ""])
def test_the_sign_in_page_shows_no_words_for_an_unknown_reason(portal, why):
    page = httpx.get(f"{portal.url}/login", params={"why": why})
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert 'class="notice"' not in page.text
