"""An authorization-code + PKCE client on a loopback port, walked in Chromium: the person
signs in (and, for a third-party client, answers the consent page) until the client's
callback holds the code and state."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.support.factories import Api

from .conftest import sign_in


def account_on(node):
    with Api(node.url) as api:
        return api.register()


def callback_of(page, party) -> dict[str, str]:
    expect(page.get_by_role("heading", name="Callback received")).to_be_visible()
    assert len(party.callbacks) == 1
    return party.callbacks[0]


def test_trusted_client_gets_its_code_after_sign_in(node, relying_party, new_page):
    party, account, page = relying_party(trusted=True), account_on(node), new_page()
    page.goto(party.authorize_url())
    sign_in(page, account.email, account.password)
    received = callback_of(page, party)
    assert received["state"] == party.state and received["iss"] == node.url
    assert party.exchange(received["code"]).status_code == 200


def test_third_party_client_gets_its_code_after_consent(node, relying_party, new_page):
    party, account, page = relying_party(trusted=False), account_on(node), new_page()
    page.goto(party.authorize_url())
    sign_in(page, account.email, account.password)
    expect(page.get_by_role("heading", name="Allow")).to_contain_text("Third app")
    page.get_by_role("button", name="Allow").click()
    received = callback_of(page, party)
    assert received["state"] == party.state
    assert party.exchange(received["code"]).status_code == 200


def test_denied_consent_reaches_the_client_as_access_denied(node, relying_party, new_page):
    party, account, page = relying_party(trusted=False), account_on(node), new_page()
    page.goto(f"{node.url}/login")
    sign_in(page, account.email, account.password)
    expect(page.get_by_role("heading", name="Active sessions")).to_be_visible()
    page.goto(party.authorize_url())  # already signed in: straight to the consent page
    page.get_by_role("button", name="Deny").click()
    received = callback_of(page, party)
    assert received["error"] == "access_denied" and received["state"] == party.state


def test_prompt_none_after_consent_gets_the_code_without_a_page(node, relying_party, new_page):
    party, account, page = relying_party(trusted=False), account_on(node), new_page()
    page.goto(party.authorize_url())
    sign_in(page, account.email, account.password)
    page.get_by_role("button", name="Allow").click()
    first = callback_of(page, party)
    assert party.exchange(first["code"]).status_code == 200

    party.callbacks.clear()
    page.goto(party.authorize_url(prompt="none"))  # remembered consent, live session
    received = callback_of(page, party)
    assert "error" not in received and received["state"] == party.state
    assert party.exchange(received["code"]).status_code == 200


def test_prompt_none_never_shows_a_page(node, relying_party, new_page):
    party, account, page = relying_party(trusted=False), account_on(node), new_page()
    page.goto(party.authorize_url(prompt="none"))  # nobody signed in
    assert callback_of(page, party)["error"] == "login_required"

    party.callbacks.clear()
    page.goto(f"{node.url}/login")
    sign_in(page, account.email, account.password)
    expect(page.get_by_role("heading", name="Active sessions")).to_be_visible()
    page.goto(party.authorize_url(prompt="none"))  # signed in, never consented
    received = callback_of(page, party)
    assert received["error"] == "consent_required" and received["state"] == party.state
