"""Steps that may leave the origin, over HTTP: the sign-in page widens form-action only for
its own pending authorization request, and only to a redirect URI registered for that client
(every other page keeps 'self'); an htmx request that must end elsewhere gets HX-Redirect."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from tests.support.browser import csrf_from
from tests.support.factories import Api

HTMX = {"HX-Request": "true"}


def form_action(node, path: str) -> str:
    response = httpx.get(f"{node.url}{path}", timeout=30)
    assert response.status_code == 200, response.text[:300]
    policy = response.headers["Content-Security-Policy"]
    return next(d for d in policy.split("; ") if d.startswith("form-action"))


def sign_in_for(client_id: str, redirect_uri: str) -> str:
    authorize = "/oauth/authorize?" + urlencode(
        {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri}
    )
    return "/login?" + urlencode({"next": authorize})


def test_sign_in_for_an_authorization_allows_its_redirect_origin(node):
    path = sign_in_for("limen-cli", "http://127.0.0.1:53682/callback")
    assert form_action(node, path) == "form-action 'self' http://127.0.0.1:53682"


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/login?next=/keys",
        sign_in_for("limen-cli", "https://evil.example/callback"),
        sign_in_for("no-such-client", "http://127.0.0.1:53682/callback"),
    ],
    ids=["plain", "portal-next", "unregistered-uri", "unknown-client"],
)
def test_every_other_page_keeps_form_action_self(node, path):
    assert form_action(node, path) == "form-action 'self'"


def test_htmx_request_for_an_authorization_becomes_a_page_load(node):
    target = "/oauth/authorize?" + urlencode({"client_id": "limen-cli", "response_type": "code"})
    response = httpx.get(f"{node.url}{target}", headers=HTMX, timeout=30)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == target


def test_htmx_sign_in_answers_hx_redirect_with_the_cookies(node):
    with Api(node.url) as api:
        account = api.register()
    with httpx.Client(base_url=node.url, timeout=30) as http:
        page = http.get("/login")
        response = http.post(
            "/login",
            data={
                "email": account.email,
                "password": account.password,
                "next": "/keys",
                "csrf_token": csrf_from(page.text),
            },
            headers=HTMX,
        )
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/keys"
    assert "limen_at" in response.headers["Set-Cookie"]
