"""The mail flows a person clicks through, in real Chromium: forgot password to a new password
and a sign-in with it; a confirmation link; a spent link; the notice choices."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.support.factories import PASSWORD, Api, create_user
from tests.support.live import LiveServer
from tests.support.smtp import SmtpSink, link_in, text_of

NEW_PASSWORD = "a brand new passphrase"


def _sign_in(page: Page, email: str, password: str) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_forgot_password_to_a_new_password_and_a_sign_in_with_it(
    mail_node: LiveServer, smtp: SmtpSink, new_page: Callable[[], Page]
) -> None:
    email = create_user(mail_node)
    page = new_page()
    page.goto(f"{mail_node.url}/login")
    page.get_by_role("link", name="Forgot your password?").click()
    # the sign-in page has an Email field too: fill in only once the new page is there
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("status")).to_contain_text(
        "a mail with a link is on its way", timeout=15_000
    )
    link = link_in(smtp.wait_for(email)[-1])
    page.goto(link)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password, again").fill("not the same one at all")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("alert")).to_contain_text("The two passwords differ")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password, again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
    page.get_by_role("link", name="Sign in").click()
    _sign_in(page, email, NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Hello")).to_be_visible()
    page.goto(link)  # the link is spent
    expect(page.get_by_role("alert")).to_contain_text("already used")
    expect(page.get_by_text("Nothing was changed.")).to_be_visible()


def test_a_confirmation_link_in_the_browser(
    mail_node: LiveServer, smtp: SmtpSink, new_page: Callable[[], Page]
) -> None:
    with Api(mail_node.url) as api:
        account = api.register()
    page = new_page()
    page.goto(link_in(smtp.wait_for(account.email)[-1]))
    expect(page.get_by_text(account.email)).to_be_visible()
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_role("heading", name="Address confirmed")).to_be_visible()
    page.get_by_role("link", name="Sign in").click()
    _sign_in(page, account.email, PASSWORD)
    expect(page.locator(".facts .pill", has_text="confirmed")).to_be_visible()
    expect(page.get_by_text("not confirmed yet")).to_have_count(0)


def test_the_notice_choices_are_kept(mail_node: LiveServer, new_page: Callable[[], Page]) -> None:
    email = create_user(mail_node)
    page = new_page()
    page.goto(f"{mail_node.url}/login")
    _sign_in(page, email, PASSWORD)
    page.get_by_role("link", name="Notifications").click()
    box = page.get_by_label("A new API key was created")
    expect(box).to_be_checked()
    box.uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    page.reload()
    expect(page.get_by_label("A new API key was created")).not_to_be_checked()
    expect(page.get_by_label("Two-step verification was turned off")).to_be_checked()


def test_an_address_change_from_the_dashboard(
    mail_node: LiveServer, smtp: SmtpSink, new_page: Callable[[], Page]
) -> None:
    email = create_user(mail_node)
    new = "moved-" + email
    page = new_page()
    page.goto(f"{mail_node.url}/login")
    _sign_in(page, email, PASSWORD)
    page.get_by_label("New address").fill(new)
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Change my address").click()
    expect(page.get_by_role("heading", name="Check the new mailbox")).to_be_visible()
    page.goto(link_in(smtp.wait_for(new)[-1]))
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_role("heading", name="Address changed")).to_be_visible()
    page.goto(f"{mail_node.url}/")
    expect(page.locator(".facts")).to_contain_text(new)
    [notice] = [m for m in smtp.wait_for(email) if m["X-Limen-Mail"] == "notice_email_changed"]
    assert new in notice["Subject"] + text_of(notice)
