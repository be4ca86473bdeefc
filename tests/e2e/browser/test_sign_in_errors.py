"""A refused sign-in says why on the page, keeps the email, and moves focus to the message
(the role="alert" element), for people using a keyboard or a screen reader."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.support.factories import Api
from tests.support.mfa import enroll

from .conftest import sign_in


def registered(node):
    with Api(node.url) as api:
        return api.register()


def assert_refused(page, email: str, words: str) -> None:
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(words)
    expect(alert).to_be_focused()
    expect(page.get_by_label("Email")).to_have_value(email)


def test_wrong_password(node, new_page):
    account, page = registered(node), new_page()
    page.goto(f"{node.url}/login")
    sign_in(page, account.email, "not the password")
    assert_refused(page, account.email, "email or password is incorrect")


def test_disabled_account(node, admin, new_page):
    account, page = registered(node), new_page()
    disabled = httpx.patch(
        f"{node.url}/api/v1/users/{account.id}", json={"active": False}, headers=admin
    )
    assert disabled.status_code == 200, disabled.text
    page.goto(f"{node.url}/login")
    sign_in(page, account.email, account.password)
    assert_refused(page, account.email, "This account is disabled")


def test_wrong_second_factor_code(node, new_page):
    account, page = registered(node), new_page()
    enroll(node, account)
    page.goto(f"{node.url}/login")
    sign_in(page, account.email, account.password)
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("one-time code is wrong")
    expect(alert).to_be_focused()
    expect(page.get_by_text(f"Signing in as {account.email}")).to_be_visible()


BOOST_THE_FORM = """() => {
  const form = document.querySelector('form[action="/login"]');
  form.setAttribute("hx-boost", "true");
  htmx.process(form);
}"""


def test_a_refusal_answered_to_htmx_is_shown_not_taken_for_an_expired_session(node, new_page):
    account, page = registered(node), new_page()
    page.goto(f"{node.url}/login")
    page.evaluate(BOOST_THE_FORM)  # as any boosted form would be
    sign_in(page, account.email, "not the password")
    assert_refused(page, account.email, "email or password is incorrect")
