"""The portal's node for browser tests (Chromium itself comes from tests/e2e/conftest.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.support.factories import PASSWORD
from tests.support.live import LiveServer


@pytest.fixture(scope="session")
def portal(make_database, start_server) -> LiveServer:
    """A node for browser tests: short access tokens, so expiry happens mid-session."""
    return start_server(make_database("sqlite"), LIMEN_ACCESS_TOKEN_TTL="10")


def sign_in(page: Page, node: LiveServer, email: str, next_path: str = "/") -> None:
    page.goto(f"{node.url}/login?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{node.url}{next_path}")
