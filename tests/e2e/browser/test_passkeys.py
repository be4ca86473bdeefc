"""Passkeys walked in real Chromium with CDP virtual authenticators, against a node whose
issuer is ``http://localhost:PORT`` (browsers refuse an IP address as a passkey's site): add
two passkeys on the Security page, name one, remove one after the confirm step, sign out, sign
in with the passkey alone (amr ``hwk`` in the access token and in /api/v1/me), then use it as
the second step after the password. Without JavaScript the passkey buttons stay hidden and the
password works as before."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import CDPSession, Page, expect

from tests.conftest import base_env
from tests.support.factories import Account, Api
from tests.support.live import LiveServer
from tests.support.mfa import enroll
from tests.support.services import free_port

from .conftest import sign_in

AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


def localhost(redis_server, make_database, **env: str) -> tuple[LiveServer, str]:
    port = free_port()
    base = f"http://localhost:{port}"
    database = make_database("postgresql")
    server = LiveServer(base_env(redis_server.url, database, LIMEN_ISSUER=base, **env), port=port)
    server.start()
    return server, base


@pytest.fixture(scope="module")
def localhost_node(redis_server, make_database) -> Iterator[tuple[LiveServer, str]]:
    server, base = localhost(redis_server, make_database)
    yield server, base
    server.stop()


def add_authenticator(page: Page) -> tuple[CDPSession, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return cdp, added["authenticatorId"]


def access_claims(page: Page) -> dict[str, Any]:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "limen_at")
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def me(page: Page, base: str) -> dict[str, Any]:
    answer = page.request.get(f"{base}/api/v1/me")
    assert answer.status == 200, answer.text()
    return dict(answer.json())


def add_passkey(page: Page, name: str) -> None:
    page.get_by_label("Name for a new passkey").fill(name)
    page.get_by_role("button", name="Add a passkey").click()


def test_passkeys_walk(localhost_node, new_page, shots):
    server, base = localhost_node
    with Api(base) as api:
        who: Account = api.register()
    page = new_page()
    cdp, first = add_authenticator(page)

    page.goto(f"{base}/login")
    sign_in(page, who.email, who.password)
    expect(page.get_by_role("heading", name="Active sessions")).to_be_visible()
    page.get_by_role(
        "link", name="Security"
    ).click()  # a boosted navigation: passkeys.js still wires up
    expect(page.get_by_role("heading", name="Passkeys")).to_be_visible()
    expect(page.get_by_text("Adding a passkey needs JavaScript")).to_be_hidden()

    add_passkey(page, "Laptop")
    expect(page.get_by_role("status")).to_have_text("Passkey “Laptop” added.")
    # The same authenticator may hold one passkey per account: a second device adds the next.
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": first})
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    add_passkey(page, "")
    expect(page.get_by_role("status")).to_have_text("Passkey “Passkey 2” added.")

    page.get_by_label("New name for Passkey 2").fill("Phone")
    page.get_by_role("button", name="Rename").nth(1).click()
    expect(page.get_by_role("status")).to_have_text("Passkey renamed to “Phone”.")

    page.locator("li.passkey", has_text="Laptop").get_by_role("link", name="Remove…").click()
    expect(page.get_by_role("heading", name="Remove the passkey “Laptop”?")).to_be_visible()
    expect(page.get_by_text("You keep 1 other passkey.")).to_be_visible()
    page.get_by_role("button", name="Remove passkey").click()
    expect(page.get_by_role("status")).to_contain_text("Passkey “Laptop” removed")
    expect(page.locator("li.passkey")).to_have_count(1)
    expect(page.locator("li.passkey .passkey-name")).to_have_text("Phone")
    shots(page, "passkeys-security-page")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shots(page, "passkeys-security-page-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shots(page, "passkeys-sign-in")
    page.get_by_role("button", name="Sign in with a passkey").click()  # no email, no password
    expect(page.get_by_role("heading", name="Active sessions")).to_be_visible()
    assert access_claims(page)["amr"] == ["hwk"]
    whoami = me(page, base)
    assert whoami["email"] == who.email and whoami["amr"] == ["hwk"]

    # the passkey as the second step, once two-step verification is on
    enroll(server, who)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, who.email, who.password)
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    page.get_by_role("button", name="Use a passkey instead").click()
    expect(page.get_by_role("heading", name="Active sessions")).to_be_visible()
    assert access_claims(page)["amr"] == ["pwd", "hwk", "mfa"]
    assert me(page, base)["acr"] == "urn:limen:acr:2fa"


def test_a_cancelled_passkey_prompt_says_so_and_the_password_still_works(localhost_node, new_page):
    _, base = localhost_node
    with Api(base) as api:
        who = api.register()
    page = new_page()
    cdp, authenticator = add_authenticator(page)
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False}
    )
    page.goto(f"{base}/login")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("alert")).to_contain_text("passkey")
    sign_in(page, who.email, who.password)
    expect(page.get_by_role("heading", name="Active sessions")).to_be_visible()


def test_without_javascript_the_passkey_buttons_stay_hidden(localhost_node, new_page):
    _, base = localhost_node
    with Api(base) as api:
        who = api.register()
    page = new_page(java_script_enabled=False)
    page.goto(f"{base}/login")
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
    sign_in(page, who.email, who.password)
    expect(page.get_by_role("heading", name="Active sessions")).to_be_visible()
    page.goto(f"{base}/mfa")
    expect(page.get_by_role("button", name="Add a passkey")).to_be_hidden()
    expect(page.get_by_text("Adding a passkey needs JavaScript")).to_be_visible()


def test_an_ip_address_issuer_offers_no_passkeys(node, new_page):
    page = new_page()
    page.goto(f"{node.url}/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_have_count(0)


def test_a_passkey_is_added_after_the_access_token_ran_out(redis_server, make_database, new_page):
    server, base = localhost(redis_server, make_database, LIMEN_ACCESS_TOKEN_TTL="10")
    try:
        with Api(base) as api:
            who = api.register()
        page = new_page()
        add_authenticator(page)
        page.goto(f"{base}/login?next=/mfa")
        sign_in(page, who.email, who.password)
        expect(page.get_by_role("heading", name="Passkeys")).to_be_visible()
        time.sleep(17)  # past the access token's life (10 s) and the 5 s clock leeway
        add_passkey(page, "Desk")  # passkeys.js refreshes the session once, then goes on
        expect(page.get_by_role("status")).to_have_text("Passkey “Desk” added.")
    finally:
        server.stop()
