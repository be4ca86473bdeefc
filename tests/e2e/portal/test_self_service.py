"""Self-service on the account page and through /api/v1/me: a person renames themselves and
changes their password (the current one required, other sessions optionally signed out)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.db import scalar
from tests.support.factories import PASSWORD, create_user

from .conftest import sign_in

NEW_PASSWORD = "a different and longer passphrase"


def api_login(node, email: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{node.url}/auth/login", json={"email": email, "password": password})


def ended(node, sid: str) -> bool:
    sql = "SELECT revoked_at FROM sessions WHERE id = :i"
    return scalar(node.env["LIMEN_DATABASE_URL"], sql, i=sid) is not None


def test_rename_and_change_password_on_the_account_page(portal, new_page, shots):
    email = create_user(portal)
    other = api_login(portal, email).json()["session_id"]
    page = new_page()
    sign_in(page, portal, email)

    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("status")).to_have_text("Your name is saved.")
    expect(page.get_by_role("heading", name="Hello, Ada Lovelace")).to_be_visible()

    page.get_by_text("Change your password").click()
    page.get_by_label("Your password now").fill("not my password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password, again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text(
        "The current password is wrong; your password stays as it is."
    )
    assert not ended(portal, other)

    page.get_by_label("Your password now").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password, again").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("The two new passwords differ")

    page.get_by_label("Your password now").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password, again").fill(NEW_PASSWORD)
    expect(page.get_by_label("Sign out my other sessions")).to_be_checked()
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Your password is changed. 1 other session signed out."
    )
    shots(page, "self-service-1280")
    assert ended(portal, other)
    page.goto(f"{portal.url}/keys")  # this session stays signed in
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    assert api_login(portal, email).status_code == 401
    assert api_login(portal, email, NEW_PASSWORD).status_code == 200
    events = scalar(
        portal.env["LIMEN_DATABASE_URL"],
        "SELECT count(*) FROM audit_events a JOIN users u ON u.id = a.user_id "
        "WHERE u.email = :e AND a.event = 'user.password_changed'",
        e=email,
    )
    assert events == 1


def test_changing_the_password_can_keep_the_other_sessions(portal, new_page):
    email = create_user(portal)
    other = api_login(portal, email).json()["session_id"]
    page = new_page(java_script_enabled=False)
    sign_in(page, portal, email)
    page.get_by_text("Change your password").click()
    page.get_by_label("Your password now").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password, again").fill(NEW_PASSWORD)
    page.get_by_label("Sign out my other sessions").uncheck()
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status").first).to_have_text("Your password is changed.")
    assert not ended(portal, other)


def test_rename_and_change_password_through_the_api(portal):
    email = create_user(portal)
    login = api_login(portal, email).json()
    me = {"Authorization": f"Bearer {login['access_token']}"}
    renamed = httpx.patch(f"{portal.url}/api/v1/me", json={"display_name": "  Grace  "}, headers=me)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["display_name"] == "Grace"
    assert httpx.get(f"{portal.url}/api/v1/me", headers=me).json()["display_name"] == "Grace"

    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "end_other_sessions": True}
    changed = httpx.post(f"{portal.url}/api/v1/me/password", json=body, headers=me)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"other_sessions_ended": 0}
    assert api_login(portal, email, NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("path", "method", "body", "status", "words"),
    [
        ("/api/v1/me", "PATCH", {"display_name": "x" * 201}, 400, "display_name"),
        ("/api/v1/me", "PATCH", {"display_name": "tab\there"}, 422, "control characters"),
        ("/api/v1/me", "PATCH", {"display_name": "a", "email": "b@example.com"}, 400, "email"),
        ("/api/v1/me", "PATCH", {"display_name": 7}, 400, "display_name"),
        (
            "/api/v1/me/password",
            "POST",
            {"current_password": "wrong", "new_password": NEW_PASSWORD},
            422,
            "current password is wrong",
        ),
        (
            "/api/v1/me/password",
            "POST",
            {"current_password": PASSWORD, "new_password": "short"},
            422,
            "at least",
        ),
        (
            "/api/v1/me/password",
            "POST",
            {"current_password": PASSWORD, "new_password": PASSWORD},
            422,
            "same as the current",
        ),
        ("/api/v1/me/password", "POST", {"new_password": NEW_PASSWORD}, 400, "current_password"),
        ("/api/v1/me/password", "POST", "not json", 400, "JSON"),
    ],
)
def test_hostile_or_malformed_self_service_requests_change_nothing(
    portal, path, method, body, status, words
):
    email = create_user(portal)
    me = {"Authorization": f"Bearer {api_login(portal, email).json()['access_token']}"}
    if isinstance(body, str):
        sent = httpx.request(
            method,
            f"{portal.url}{path}",
            content=body,
            headers={**me, "Content-Type": "application/json"},
        )
    else:
        sent = httpx.request(method, f"{portal.url}{path}", json=body, headers=me)
    assert sent.status_code == status, sent.text
    assert sent.headers["content-type"] == "application/problem+json"
    assert words in sent.json()["detail"]
    assert api_login(portal, email).status_code == 200  # the password is unchanged


def test_an_api_key_cannot_change_the_name_or_password(portal):
    email = create_user(portal)
    me = {"Authorization": f"Bearer {api_login(portal, email).json()['access_token']}"}
    key = httpx.post(
        f"{portal.url}/api/v1/api-keys", json={"name": "k", "scopes": ["profile"]}, headers=me
    ).json()["key"]
    with_key = {"X-API-Key": key}
    renamed = httpx.patch(f"{portal.url}/api/v1/me", json={"display_name": "Eve"}, headers=with_key)
    assert renamed.status_code == 403 and "API keys" in renamed.json()["detail"]
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    changed = httpx.post(f"{portal.url}/api/v1/me/password", json=body, headers=with_key)
    assert changed.status_code == 403
    assert api_login(portal, email).status_code == 200
