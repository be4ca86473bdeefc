"""Two-step verification: set up in the portal, then required by the portal, the JSON login
(and so the CLI); recovery codes work once; wrong codes meet the lockout; roles can require it."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.browser import csrf_from
from tests.support.factories import PASSWORD, Api
from tests.support.mfa import enroll, next_code


def json_login(node, account, otp=None) -> httpx.Response:
    body = {"email": account.email, "password": account.password}
    if otp:
        body["otp"] = otp
    return httpx.post(f"{node.url}/auth/login", json=body)


@pytest.fixture
def node(server):
    return server


def test_json_login_needs_the_code_once_enrolled(node):
    with Api(node.url) as api:
        account = api.register()
    totp, codes = enroll(node, account)
    asked = json_login(node, account)
    assert asked.status_code == 401 and asked.json()["mfa_required"] is True
    assert json_login(node, account, "000000").status_code == 401
    ok = json_login(node, account, next_code(totp))
    assert ok.status_code == 200
    token = ok.json()["access_token"]
    me = httpx.get(f"{node.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["auth_method"] == "password+otp"
    assert json_login(node, account, next_code(totp)).status_code == 401  # no replay
    assert json_login(node, account, codes[0]).status_code == 200  # a recovery code, once
    assert json_login(node, account, codes[0]).status_code == 401


def test_portal_asks_for_the_code_after_the_password(node):
    with Api(node.url) as api:
        account = api.register()
    totp, _ = enroll(node, account)
    with httpx.Client(base_url=node.url) as http:
        page = http.get("/login")
        step = http.post(
            "/login",
            data={
                "email": account.email,
                "password": PASSWORD,
                "next": "/keys",
                "csrf_token": csrf_from(page.text),
            },
        )
        assert step.status_code == 200 and "Two-step verification" in step.text
        assert PASSWORD not in step.text
        ticket = re.search(r'name="ticket" value="([^"]+)"', step.text).group(1)
        wrong = http.post(
            "/login/verify",
            data={
                "ticket": ticket,
                "otp": "123456",
                "next": "/keys",
                "csrf_token": csrf_from(step.text),
            },
        )
        assert wrong.status_code == 401 and "code is wrong" in wrong.text
        retry = re.search(r'name="ticket" value="([^"]+)"', wrong.text).group(1)
        done = http.post(
            "/login/verify",
            data={
                "ticket": retry,
                "otp": next_code(totp),
                "next": "/keys",
                "csrf_token": csrf_from(wrong.text),
            },
        )
        assert done.status_code == 303 and done.headers["Location"] == "/keys"
        assert http.get("/keys").status_code == 200


def test_wrong_codes_meet_the_lockout(node):
    with Api(node.url) as api:
        account = api.register()
    enroll(node, account)
    codes = [json_login(node, account, "999999").status_code for _ in range(5)]
    assert codes == [401] * 5
    assert json_login(node, account, "999999").status_code == 423


def test_a_role_can_require_it(make_database, start_server):
    node = start_server(make_database("sqlite"), LIMEN_MFA_REQUIRED_ROLES="analyst")
    with Api(node.url) as api:
        account = api.register()
        token = api.login(account)["access_token"]
        me = api.me(token).json()
        assert me["auth_method"] == "password:mfa-setup-required"
        assert me["permissions"] == ["profile"]
        keys = api.http.get("/api/v1/api-keys", headers=api.bearer(token))
        assert keys.status_code == 403
    totp, _ = enroll(node, account)
    full = json_login(node, account, next_code(totp)).json()["access_token"]
    with Api(node.url) as api:
        assert "keys:read" in api.me(full).json()["permissions"]
