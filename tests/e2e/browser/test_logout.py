"""RP-Initiated Logout walked in Chromium: the relying party sends the person to Limen's
end_session_endpoint; without an id_token_hint they confirm on Limen's page, and land back on
the RP's registered post-logout address with its state, signed out of Limen."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
from playwright.sync_api import expect

from .conftest import RelyingParty, sign_in
from .test_authorization_code import account_on, callback_of


def test_the_person_confirms_and_returns_to_the_rp_signed_out(node, admin, new_page):
    party = RelyingParty(node, "pending")
    try:
        created = httpx.post(
            f"{node.url}/api/v1/clients",
            json={
                "name": "Logout walk",
                "grant_types": ["authorization_code"],
                "scopes": ["openid", "profile"],
                "redirect_uris": [party.redirect_uri],
                "post_logout_redirect_uris": [party.redirect_uri],
                "public": True,
                "trusted": True,
            },
            headers=admin,
        )
        assert created.status_code == 201, created.text
        party.client_id = created.json()["client_id"]
        account, page = account_on(node), new_page()
        page.goto(party.authorize_url())
        sign_in(page, account.email, account.password)
        assert party.exchange(callback_of(page, party)["code"]).status_code == 200

        party.callbacks.clear()
        query = {
            "client_id": party.client_id,
            "post_logout_redirect_uri": party.redirect_uri,
            "state": "bye-1",
        }
        page.goto(f"{node.url}/oauth/logout?{urlencode(query)}")
        expect(page.get_by_role("heading", name="Sign out of Limen?")).to_be_visible()
        page.locator("#main").get_by_role("button", name="Sign out").click()
        assert callback_of(page, party) == {"state": "bye-1"}
        assert page.request.get(f"{node.url}/api/v1/me").status == 401
    finally:
        party.close()
