"""The portal as a person uses it, in headless Chromium: API keys, admin actions, expiry,
permissions, device approval. Screenshots land in tests/artifacts/screenshots/."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import expect

from tests.support.db import scalar
from tests.support.factories import create_user

from .conftest import sign_in

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def me_with_key(node, key: str) -> int:
    return httpx.get(f"{node.url}/api/v1/me", headers={"X-API-Key": key}).status_code


def test_sign_in_create_use_rotate_revoke_an_api_key(portal, new_page, shots):
    email = create_user(portal)
    page = new_page()
    page.goto(f"{portal.url}/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    shots(page, "01-sign-in")
    sign_in(page, portal, email)
    expect(page.get_by_role("heading", name="Active sessions")).to_be_visible()
    shots(page, "02-dashboard")

    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name", exact=True).fill("nightly-export")
    page.get_by_role("checkbox", name=re.compile("List your API keys")).check()
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("limen_")
    shots(page, "03-api-key-created")
    assert me_with_key(portal, key) == 200

    page.get_by_label("Keep the old key for").select_option("0")
    page.get_by_role("button", name="Rotate").click()
    expect(page.locator("#new-key")).not_to_have_text(key)
    successor = page.locator("#new-key").inner_text()
    assert me_with_key(portal, successor) == 200
    assert me_with_key(portal, key) == 401  # no grace was chosen

    page.reload()  # the secret is never shown again
    expect(page.locator("#new-key")).to_have_count(0)
    assert successor not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())  # "Revoke nightly-export? ..."
    page.get_by_role("button", name="Revoke key nightly-export").first.click()
    expect(page.get_by_text("revoked").first).to_be_visible()
    shots(page, "04-api-keys")
    assert me_with_key(portal, successor) == 401


def test_admin_locks_a_user_whose_open_session_dies_on_the_next_click(portal, new_page, shots):
    analyst_email = create_user(portal)
    admin_email = create_user(portal, "admin")
    analyst = new_page()
    sign_in(analyst, portal, analyst_email)

    admin = new_page()
    sign_in(admin, portal, admin_email)
    admin.get_by_role("link", name="Users").click()
    admin.get_by_label("Search users").fill(analyst_email)
    expect(admin.locator("#users tbody tr")).to_have_count(1)
    shots(admin, "05-admin-users")
    admin.once("dialog", lambda dialog: dialog.accept())  # "Lock ...? They are signed out..."
    admin.get_by_role("button", name=f"Lock {analyst_email}").click()
    expect(admin.get_by_text(f"Locked {analyst_email}.")).to_be_visible()

    analyst.get_by_role("link", name="API keys").click()
    expect(analyst).to_have_url(re.compile(r"/login\?next=(%2F|/)keys"))
    analyst.get_by_label("Email").fill(analyst_email)
    analyst.get_by_label("Password").fill("correct horse battery staple")
    analyst.get_by_role("button", name="Sign in", exact=True).click()
    expect(analyst.get_by_role("alert")).to_contain_text("locked by an administrator")


def test_access_token_expiry_mid_session_is_invisible(portal, new_page):
    page = new_page()
    sign_in(page, portal, create_user(portal))
    time.sleep(11)  # LIMEN_ACCESS_TOKEN_TTL=10 on this node
    page.get_by_role("link", name="API keys").click()  # a boosted navigation (HTMX)
    expect(page).to_have_url(f"{portal.url}/keys")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()

    time.sleep(11)
    page.get_by_label("Name", exact=True).fill("after-expiry")  # an HTMX POST with an expired token
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key")).to_be_visible()

    time.sleep(11)
    page.reload()  # a full page load with an expired token
    expect(page).to_have_url(f"{portal.url}/keys")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()


def test_analysts_cannot_reach_admin_pages_or_actions(portal, new_page):
    victim_email = create_user(portal)
    page = new_page()
    sign_in(page, portal, create_user(portal))
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    for path in ("/admin/users", "/admin/clients", "/admin/audit", "/admin/signing-keys"):
        response = page.goto(f"{portal.url}{path}")
        assert response.status == 403, path
        expect(page.get_by_role("heading", name="Forbidden")).to_be_visible()
    # A forged POST with the analyst's own cookies and a valid CSRF token.
    victim = scalar(
        portal.env["LIMEN_DATABASE_URL"], "SELECT id FROM users WHERE email = :e", e=victim_email
    )
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    forged = page.request.post(
        f"{portal.url}/admin/users/{victim}/disable", form={"csrf_token": token}
    )
    assert forged.status == 403
    assert scalar(
        portal.env["LIMEN_DATABASE_URL"], "SELECT is_active FROM users WHERE id = :i", i=victim
    ) in (1, True)


def test_device_flow_approved_from_the_device_page(portal, new_page, shots):
    start = httpx.post(
        f"{portal.url}/oauth/device_authorization",
        data={"client_id": "limen-cli", "scope": "openid profile"},
    ).json()
    page = new_page()
    email = create_user(portal)
    sign_in(page, portal, email, next_path="/device")
    page.get_by_label("Code").fill(start["user_code"].lower())
    shots(page, "06-device-code")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=re.compile("Limen CLI"))).to_be_visible()
    shots(page, "07-device-confirm")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="You're signed in")).to_be_visible()
    time.sleep(0.2)
    token = httpx.post(
        f"{portal.url}/oauth/token",
        data={
            "grant_type": DEVICE_GRANT,
            "device_code": start["device_code"],
            "client_id": "limen-cli",
        },
    )
    assert token.status_code == 200, token.text
    me = httpx.get(
        f"{portal.url}/api/v1/me",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert (me.json()["email"], me.json()["client_id"]) == (email, "limen-cli")


def test_admin_pages_render(portal, new_page, shots):
    page = new_page()
    sign_in(page, portal, create_user(portal, "admin"))
    for path, name, heading in [
        ("/admin/clients", "08-admin-clients", "OAuth clients"),
        ("/admin/signing-keys", "09-signing-keys", "Signing keys"),
        ("/admin/audit", "10-audit", "Audit log"),
        ("/admin/jobs", "12-jobs", "Background jobs"),
    ]:
        page.goto(f"{portal.url}{path}")
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        shots(page, name)
    page.goto(f"{portal.url}/admin/signing-keys")
    page.get_by_role("button", name="Rotate now").click()
    expect(page.get_by_role("status")).to_contain_text("Rotation queued")
    shots(page, "13-rotation-queued")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{portal.url}/keys")
    expect(page.get_by_role("heading", name="API keys")).to_be_in_viewport()
    # The page fits a phone: nothing forces a sideways scroll.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shots(page, "11-phone-keys")
