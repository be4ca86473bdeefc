"""Re-authentication walked in Chromium: a client's prompt=login makes a signed-in person sign
in again, and acr_values naming two factors makes them pass their second factor, before the
client's callback gets a code whose ID token says so."""

from __future__ import annotations

import time

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import expect

from tests.support.mfa import enroll, next_code

from .conftest import sign_in
from .test_authorization_code import account_on, callback_of

TWO_FACTORS = "urn:limen:acr:2fa"


def id_claims(node, party, code: str) -> dict:
    exchanged = party.exchange(code)
    assert exchanged.status_code == 200, exchanged.text
    keys = KeySet.import_key_set(httpx.get(f"{node.url}/oauth/jwks").json())
    return dict(jwt.decode(exchanged.json()["id_token"], keys, algorithms=["RS256"]).claims)


def test_prompt_login_makes_a_signed_in_person_sign_in_again(node, relying_party, new_page):
    party, account, page = relying_party(trusted=True), account_on(node), new_page()
    page.goto(party.authorize_url())
    sign_in(page, account.email, account.password)
    first = id_claims(node, party, callback_of(page, party)["code"])

    time.sleep(1.1)
    party.callbacks.clear()
    page.goto(party.authorize_url(prompt="login"))  # the session is live: asked again anyway
    expect(page.get_by_role("status")).to_contain_text("sign in again")
    sign_in(page, account.email, account.password)
    received = callback_of(page, party)
    assert received["state"] == party.state
    again = id_claims(node, party, received["code"])
    assert again["auth_time"] > first["auth_time"] and again["amr"] == ["pwd"]


def test_acr_values_two_factors_asks_for_the_second_factor(node, relying_party, new_page):
    party, account, page = relying_party(trusted=True), account_on(node), new_page()
    page.goto(f"{node.url}/login")
    sign_in(page, account.email, account.password)  # one factor: no second one yet
    expect(page.get_by_role("heading", name="Active sessions")).to_be_visible()
    totp, _ = enroll(node, account)  # set up elsewhere; this session stays one-factor

    page.goto(party.authorize_url(acr_values=TWO_FACTORS))
    sign_in(page, account.email, account.password)
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    page.get_by_label("Code").fill(next_code(totp))
    page.get_by_role("button", name="Verify").click()
    claims = id_claims(node, party, callback_of(page, party)["code"])
    assert claims["acr"] == TWO_FACTORS and claims["amr"] == ["pwd", "otp", "mfa"]
