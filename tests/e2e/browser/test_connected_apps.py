"""Connected apps walked in Chromium: a person allowed a third-party client, finds it on the
portal's Connected apps page and revokes it; the row goes, and so do the client's tokens."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from .conftest import sign_in
from .test_authorization_code import account_on, callback_of


def test_a_person_revokes_an_app_in_the_portal(node, relying_party, new_page, shots):
    party, account, page = relying_party(trusted=False), account_on(node), new_page()
    page.goto(party.authorize_url())
    sign_in(page, account.email, account.password)
    page.get_by_role("button", name="Allow").click()
    token = party.exchange(callback_of(page, party)["code"]).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{node.url}/api/v1/me", headers=bearer).status_code == 200

    page.goto(f"{node.url}/")
    page.get_by_role("link", name="Connected apps").click()
    row = page.locator(f'#apps tr[data-client-id="{party.client_id}"]')
    expect(row).to_contain_text("Third app")
    expect(row).to_contain_text("openid")
    shots(page, "connected-apps")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: no sideways scroll
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shots(page, "connected-apps-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    row.get_by_role("button", name=re.compile(r"^Revoke Third app")).click()
    expect(page.get_by_role("status")).to_contain_text("1 session of the application ended")
    expect(row).to_have_count(0)
    expect(page.get_by_text("No connected apps.")).to_be_visible()
    expect(page.locator("#apps-busy")).to_have_css("opacity", "0")  # the request is over
    shots(page, "connected-apps-revoked")

    assert httpx.get(f"{node.url}/api/v1/me", headers=bearer).status_code == 401
    party.callbacks.clear()
    page.goto(party.authorize_url(prompt="none"))  # the consent is gone: the client must ask
    assert callback_of(page, party)["error"] == "consent_required"
