"""response_mode=form_post walked in Chromium: the person signs in (and answers consent) and
the client's loopback listener receives a POST with code, state and iss (or the error), with
no CSP violation on the way (the page's script is static, its form-action the client's
origin); without JavaScript the person presses the button."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import sign_in
from .test_authorization_code import account_on, callback_of

FORM = "POST application/x-www-form-urlencoded"


def test_trusted_client_receives_its_code_by_post(node, relying_party, new_page):
    party, account, page = relying_party(trusted=True), account_on(node), new_page()
    page.goto(party.authorize_url(response_mode="form_post"))
    sign_in(page, account.email, account.password)
    received = callback_of(page, party)
    assert party.methods == [FORM]
    assert set(received) == {"code", "state", "iss"}
    assert received["state"] == party.state and received["iss"] == node.url
    assert party.exchange(received["code"]).status_code == 200


def test_consent_then_the_code_by_post(node, relying_party, new_page):
    party, account, page = relying_party(trusted=False), account_on(node), new_page()
    page.goto(party.authorize_url(response_mode="form_post"))
    sign_in(page, account.email, account.password)
    page.get_by_role("button", name="Allow").click()
    received = callback_of(page, party)
    assert party.methods == [FORM] and received["state"] == party.state
    assert party.exchange(received["code"]).status_code == 200


def test_denied_consent_is_posted_as_access_denied(node, relying_party, new_page):
    party, account, page = relying_party(trusted=False), account_on(node), new_page()
    page.goto(party.authorize_url(response_mode="form_post"))
    sign_in(page, account.email, account.password)
    page.get_by_role("button", name="Deny").click()
    received = callback_of(page, party)
    assert party.methods == [FORM]
    assert received["error"] == "access_denied" and received["state"] == party.state
    assert received["iss"] == node.url and "code" not in received


def test_prompt_none_without_a_session_is_posted_as_login_required(node, relying_party, new_page):
    party, page = relying_party(trusted=False), new_page()
    page.goto(party.authorize_url(response_mode="form_post", prompt="none"))
    received = callback_of(page, party)
    assert party.methods == [FORM]
    assert received["error"] == "login_required" and received["state"] == party.state


def test_without_javascript_the_button_posts_it(node, relying_party, new_page):
    party, page = relying_party(trusted=False), new_page(java_script_enabled=False)
    page.goto(party.authorize_url(response_mode="form_post", prompt="none"))
    expect(page.get_by_role("heading", name="Returning to the application")).to_be_visible()
    assert party.callbacks == []  # nothing is sent until the person asks
    page.get_by_role("button", name="Continue").click()
    received = callback_of(page, party)
    assert party.methods == [FORM] and received["error"] == "login_required"
