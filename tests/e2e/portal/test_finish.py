"""The finishing touches a person notices in the first minute: an icon, a sign-in page that
answers HEAD, sessions named by what they are, times in words, and a QR code to scan when
setting up two-step verification (with no CSP violation on the way)."""

from __future__ import annotations

import base64
import re

import httpx
import pyotp
from playwright.sync_api import expect

from tests.support.factories import create_user

from .conftest import sign_in

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def test_every_page_has_an_icon_and_favicon_ico_is_there(portal, new_page):
    page = new_page()
    page.goto(f"{portal.url}/login")
    href = page.locator('link[rel="icon"]').get_attribute("href")
    icon = httpx.get(f"{portal.url}{href}")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    legacy = httpx.get(f"{portal.url}/favicon.ico")
    assert legacy.status_code == 200 and legacy.content == icon.content


def test_head_on_the_sign_in_page_answers_200(portal):
    assert httpx.head(f"{portal.url}/login").status_code == 200
    stale = httpx.head(f"{portal.url}/login", cookies={"limen_at": "not-a-token"})
    assert stale.status_code == 200


def test_a_device_session_is_named_by_its_client_and_times_are_words(portal, new_page, shots):
    agent = {"User-Agent": "LivingRoomTV/2.1"}
    start = httpx.post(
        f"{portal.url}/oauth/device_authorization",
        data={"client_id": "limen-cli", "scope": "openid profile"},
        headers=agent,
    ).json()
    page = new_page()
    email = create_user(portal)
    sign_in(page, portal, email, next_path="/device")
    page.get_by_label("Code").fill(start["user_code"])
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="You're signed in")).to_be_visible()
    token = httpx.post(
        f"{portal.url}/oauth/token",
        data={
            "grant_type": DEVICE_GRANT,
            "device_code": start["device_code"],
            "client_id": "limen-cli",
        },
        headers=agent,
    )
    assert token.status_code == 200, token.text

    page.goto(f"{portal.url}/")
    rows = page.locator("#sessions tbody tr")
    expect(rows).to_have_count(2)
    device_row = rows.filter(has_not_text="this session")
    expect(device_row.locator("td").first).to_have_text("Limen CLI")
    assert "Browser" not in page.locator("#sessions").inner_text()
    stamp = device_row.locator("time").first
    expect(stamp).to_have_text("just now")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp.get_attribute("datetime"))
    assert stamp.get_attribute("title").endswith(" UTC")
    shots(page, "finish-dashboard-1280")


def test_two_step_set_up_shows_a_qr_code_and_turns_on(portal, new_page, shots):
    page = new_page()
    sign_in(page, portal, create_user(portal), next_path="/mfa")
    page.get_by_role("button", name="Set up").click()
    qr = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr).to_be_visible()
    source = qr.get_attribute("src")
    assert source.startswith("data:image/svg+xml")
    assert page.evaluate("document.querySelector('.qr img').naturalWidth") > 0
    secret = page.locator("#totp-secret").inner_text()
    svg = source.split(",", 1)[1]
    decoded = base64.b64decode(svg).decode() if ";base64" in source else svg
    assert secret not in decoded  # the picture holds the key, not as readable text
    shots(page, "finish-mfa-setup-1280")
    page.get_by_label("The 6-digit code the app shows").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Two-step verification is on")).to_be_visible()
