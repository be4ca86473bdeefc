"""CSRF: a state change without the token, or with a wrong one, is refused and changes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.support.browser import csrf_from, sign_in
from tests.support.db import scalar
from tests.support.factories import Api


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_state_change_without_a_valid_csrf_token_changes_nothing(portal, token):
    with Api(portal.url) as api:
        account = api.register()
    with httpx.Client(base_url=portal.url) as http:
        sign_in(http, portal.url, account.email, account.password)
        data = {"name": "sneaky", "scopes": "profile", "expires_in_days": "30"}
        if token:
            data["csrf_token"] = token
        response = http.post("/keys", data=data)
        assert response.status_code == 400 and "form has expired" in response.text
        header = http.post("/keys", data=data, headers={"X-CSRFToken": token or ""})
        assert header.status_code == 400
        ok = http.post("/keys", data={**data, "csrf_token": csrf_from(http.get("/keys").text)})
        assert ok.status_code == 200
    count = scalar(
        portal.env["LIMEN_DATABASE_URL"],
        "SELECT count(*) FROM api_keys WHERE user_id = :u",
        u=account.id,
    )
    assert count == 1  # only the request with the right token


def test_cookie_authenticated_api_writes_need_the_token(portal):
    with Api(portal.url) as api:
        api.login(api.register())  # cookies in api.http
        refused = api.http.post("/api/v1/api-keys", json={"name": "x", "scopes": ["profile"]})
        assert refused.status_code == 403 and refused.json()["type"].endswith("csrf-failed")
