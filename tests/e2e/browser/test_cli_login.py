"""`limen login --browser` as a real process, with Chromium as the person's browser (reached
through LIMEN_BROWSER), until `limen token` prints a token the API accepts."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.support.browser_command import BrowserCommand
from tests.support.factories import Api
from tests.support.mfa import enroll, next_code

from .conftest import finish, sign_in


def login_in_chromium(cli, page, walk) -> str:
    """Run `limen login --browser`, open its URL in ``page``, let ``walk`` do the person's
    part, and return the CLI's output once it exited 0."""
    with BrowserCommand() as browser:
        proc = cli.start("login", "--browser", LIMEN_BROWSER=browser.command)
        page.goto(browser.next_url())
        walk(page)
        expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
    code, output = finish(proc)
    assert code == 0, output
    return output


def test_fresh_sign_in(node, cli, new_page):
    with Api(node.url) as api:
        account = api.register()
    output = login_in_chromium(
        cli, new_page(), lambda page: sign_in(page, account.email, account.password)
    )
    assert f"as {account.email}" in output
    assert cli.token_works_for(account.email)


def test_existing_portal_session_signs_in_without_a_form(node, cli, new_page):
    with Api(node.url) as api:
        account = api.register()
    page = new_page()
    page.goto(f"{node.url}/login")
    sign_in(page, account.email, account.password)
    expect(page.get_by_role("heading", name="Active sessions")).to_be_visible()
    login_in_chromium(cli, page, lambda page: None)
    assert cli.token_works_for(account.email)


def test_second_factor(node, cli, new_page):
    with Api(node.url) as api:
        account = api.register()
    totp, _ = enroll(node, account)

    def walk(page):
        sign_in(page, account.email, account.password)
        page.get_by_label("Code").fill(next_code(totp))
        page.get_by_role("button", name="Verify").click()

    login_in_chromium(cli, new_page(), walk)
    assert cli.token_works_for(account.email)
