"""The portal at a phone's width (390 px) and a desktop's (1280 px): one row of navigation
(a Menu that opens without JavaScript on phones), tables that stack instead of scrolling
sideways, and axe-core finding nothing serious on the pages this layout touches."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.a11y import serious_findings
from tests.support.factories import create_user

from .conftest import sign_in

PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("javascript", [True, False])
def test_the_phone_menu_is_one_row_and_opens_without_script(portal, new_page, javascript):
    page = new_page(viewport=PHONE, java_script_enabled=javascript)
    sign_in(page, portal, create_user(portal, "admin"))
    header = page.locator("header.topbar")
    assert header.bounding_box()["height"] < 70  # one row, not four or five
    expect(page.get_by_role("link", name="API keys")).to_have_count(0)  # folded away
    page.get_by_text("Menu", exact=True).click()
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize(("width", "height"), [(1280, 860), (390, 844)])
def test_pages_fit_and_pass_axe(portal, new_page, shots, width, height):
    page = new_page(viewport={"width": width, "height": height})
    email = create_user(portal, "admin")
    sign_in(page, portal, email)
    for path, name in [("/", "dashboard"), ("/keys", "keys"), ("/admin/users", "users")]:
        page.goto(f"{portal.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        assert serious_findings(page) == [], path
        shots(page, f"layout-{name}-{width}")
    if width == 1280:
        header = page.locator("header.topbar")
        assert header.bounding_box()["height"] < 70, "the admin's navigation fits one row"
