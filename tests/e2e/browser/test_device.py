"""`limen login --device` as a real process, approved on the /device page in Chromium."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.support.factories import Api

from .conftest import finish, sign_in, user_code


def test_device_code_approved_on_the_device_page(node, cli, new_page):
    with Api(node.url) as api:
        account = api.register()
    proc = cli.start("login", "--device")
    code = user_code(proc)
    page = new_page()
    page.goto(f"{node.url}/device")
    sign_in(page, account.email, account.password)
    page.get_by_label("Code").fill(code.lower())
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="You're signed in")).to_be_visible()
    exit_code, output = finish(proc)
    assert exit_code == 0, output
    assert cli.token_works_for(account.email)
