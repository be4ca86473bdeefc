"""Step-up in the portal, walked in Chromium: an admin whose sign-in is older than
LIMEN_STEP_UP_MAX_AGE clicks "Rotate secret", is sent to sign in again (password and second
factor), comes back to the clients page, and the rotation then goes through."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.factories import PASSWORD, Account, bearer_for, create_user
from tests.support.live import LiveServer
from tests.support.mfa import enroll, next_code

from .conftest import sign_in

MAX_AGE = 3


@pytest.fixture(scope="module")
def stepup_node(make_database, start_server) -> LiveServer:
    return start_server(make_database("postgresql"), LIMEN_STEP_UP_MAX_AGE=str(MAX_AGE))


def client_grant(node: LiveServer, client: dict, secret: str) -> int:
    return httpx.post(
        f"{node.url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "profile"},
        auth=(client["client_id"], secret),
    ).status_code


def test_a_stale_sign_in_is_sent_to_sign_in_again_then_back(stepup_node, new_page, shots):
    node = stepup_node
    email = create_user(node, "admin")
    client = httpx.post(
        f"{node.url}/api/v1/clients",
        json={"name": "stepup-svc", "grant_types": ["client_credentials"], "scopes": ["profile"]},
        headers=bearer_for(node, email),
    ).json()
    totp, recovery = enroll(node, Account(email, PASSWORD, ""))

    page = new_page()
    page.goto(f"{node.url}/login")
    sign_in(page, email, PASSWORD)
    page.get_by_label("Code").fill(next_code(totp))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Active sessions")).to_be_visible()
    time.sleep(MAX_AGE + 1.5)  # the sign-in is now too old for a sensitive action

    page.goto(f"{node.url}/admin/clients")
    row = page.get_by_role("row").filter(has_text=client["client_id"])
    row.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_role("status")).to_contain_text("needs a recent sign-in")
    expect(page.get_by_label("Email")).to_have_value(email)  # the same person, again
    shots(page, "step-up-sign-in")
    assert client_grant(node, client, client["client_secret"]) == 200  # nothing rotated yet
    sign_in(page, email, PASSWORD)
    page.get_by_label("Code").fill(recovery[0])  # the next TOTP step was spent above
    page.get_by_role("button", name="Verify").click()

    expect(page).to_have_url(f"{node.url}/admin/clients")  # back where the action started
    row = page.get_by_role("row").filter(has_text=client["client_id"])
    row.get_by_label("Old secret stays valid for").select_option("0")
    row.get_by_role("button", name="Rotate secret").click()
    secret = page.locator("#client-secret")
    expect(secret).to_be_visible()
    new_secret = secret.inner_text().strip()
    assert client_grant(node, client, new_secret) == 200
    assert client_grant(node, client, client["client_secret"]) == 401
