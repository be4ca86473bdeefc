"""The portal's forms are checked by the API's own models: what the API refuses the portal
refuses, with the same words, shown in the form's alert, and nothing changes."""

from __future__ import annotations

import html
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.browser import csrf_from
from tests.support.browser import sign_in as http_sign_in
from tests.support.db import query, scalar
from tests.support.factories import PASSWORD, bearer_for, create_user

from .conftest import sign_in

NO_SCOPE = "scopes: List should have at least 1 item after validation, not 0"
KEYS = "SELECT count(*) FROM api_keys WHERE user_id = (SELECT id FROM users WHERE email = :e)"
CLIENTS = "SELECT count(*) FROM oauth_clients"
ROLES = (
    "SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id "
    "JOIN users u ON u.id = ur.user_id WHERE u.email = :e ORDER BY r.name"
)


def portal_post(node: Any, email: str, page: str, action: str, form: dict[str, Any]) -> str:
    """Sign in, then POST a form as ``page`` would (its CSRF token); the answer (a 400) as text.
    Signed in just before: the portal node's access tokens live ten seconds."""
    with httpx.Client(base_url=node.url) as http:
        http_sign_in(http, node.url, email, PASSWORD)
        token = csrf_from(http.get(page).text)
        response = http.post(action, data={**form, "csrf_token": token})
    assert response.status_code == 400, response.text[:500]
    return html.unescape(response.text)


def api_detail(node: Any, email: str, method: str, path: str, body: Any) -> str:
    """The API's problem detail for the same input, sent as JSON by ``email``."""
    response = httpx.request(
        method, f"{node.url}{path}", json=body, headers=bearer_for(node, email)
    )
    assert response.status_code == 400, response.text
    return str(response.json()["detail"])


@pytest.fixture
def analyst(portal) -> str:
    return create_user(portal)


@pytest.fixture
def admin(portal) -> str:
    return create_user(portal, "admin")


def test_a_key_without_a_scope_shows_the_models_message(portal, new_page):
    email = create_user(portal)
    page = new_page()
    sign_in(page, portal, email, next_path="/keys")
    page.get_by_label("Name", exact=True).fill("nightly-export")
    page.locator('input[name="scopes"][value="profile"]').uncheck()
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("alert")).to_have_text(f"Fix these fields and retry: {NO_SCOPE}.")
    expect(page.locator("#new-key")).to_have_count(0)
    assert scalar(portal.env["LIMEN_DATABASE_URL"], KEYS, e=email) == 0


def test_a_client_without_a_grant_shows_the_models_message(portal, new_page):
    page = new_page()
    sign_in(page, portal, create_user(portal, "admin"), next_path="/admin/clients")
    before = scalar(portal.env["LIMEN_DATABASE_URL"], CLIENTS)
    page.get_by_text("Register a client").click()
    page.get_by_label("Name").fill("reporting")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Fix these fields and retry: grant_types: List should have at least 1 item after "
        "validation, not 0."
    )
    assert scalar(portal.env["LIMEN_DATABASE_URL"], CLIENTS) == before


def test_taking_every_role_away_shows_the_models_message(portal, new_page):
    target = create_user(portal)
    page = new_page()
    sign_in(page, portal, create_user(portal, "admin"))
    page.goto(f"{portal.url}/admin/users?q={target}")
    page.locator("#users tbody tr").get_by_role("checkbox", name="analyst").uncheck()
    page.get_by_role("button", name=f"Save roles for {target}").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Fix these fields and retry: roles: List should have at least 1 item after validation, "
        "not 0."
    )
    assert query(portal.env["LIMEN_DATABASE_URL"], ROLES, e=target) == [("analyst",)]


KEY_CASES = {
    "too long a life": ({"expires_in_days": "367"}, {"expires_in_days": 367}),
    "a life of zero days": ({"expires_in_days": "0"}, {"expires_in_days": 0}),
    "too long a name": ({"name": "n" * 101}, {"name": "n" * 101}),
    "an unknown scope": ({"scopes": "root"}, {"scopes": ["root"]}),
    "no scope": ({"scopes": []}, {"scopes": []}),
}


@pytest.mark.parametrize("case", sorted(KEY_CASES))
def test_the_portal_refuses_a_key_as_the_api_does(portal, analyst, case):
    email = analyst
    form, body = KEY_CASES[case]
    page = portal_post(portal, email, "/keys", "/keys", {"name": "k", "scopes": "profile", **form})
    detail = api_detail(
        portal,
        email,
        "POST",
        "/api/v1/api-keys",
        {"name": "k", "scopes": ["profile"], **body},
    )
    assert detail.startswith("Fix these fields and retry: ") and detail in page
    assert scalar(portal.env["LIMEN_DATABASE_URL"], KEYS, e=email) == 0


@pytest.mark.parametrize(
    ("grace", "message"),
    [
        ("2592001", "grace_seconds: Input should be less than or equal to 2592000"),
        ("-1", "grace_seconds: Input should be greater than or equal to 0"),
        ("a day", "grace_seconds: Input should be a valid integer"),
    ],
)
def test_the_portal_refuses_a_grace_period_out_of_bounds(portal, analyst, grace, message):
    email = analyst
    headers = bearer_for(portal, email)
    key = httpx.post(
        f"{portal.url}/api/v1/api-keys", json={"name": "k", "scopes": ["profile"]}, headers=headers
    ).json()
    page = portal_post(
        portal, email, "/keys", f"/keys/{key['id']}/rotate", {"grace_seconds": grace}
    )
    assert message in page
    if grace.lstrip("-").isdigit():  # the same words as the API's, for the same number
        path = f"/api/v1/api-keys/{key['id']}/rotate"
        assert api_detail(portal, email, "POST", path, {"grace_seconds": int(grace)}) in page
    assert scalar(portal.env["LIMEN_DATABASE_URL"], KEYS, e=email) == 1  # no successor
    assert httpx.get(f"{portal.url}/api/v1/me", headers={"X-API-Key": key["key"]}).is_success


CLIENT_CASES = {
    "an unknown grant": ({"grants": "implicit"}, {"grant_types": ["implicit"]}),
    "too long a name": ({"name": "c" * 201}, {"name": "c" * 201}),
    "too many redirect URIs": (
        {"redirect_uris": "\n".join(f"https://app{i}.example.com/cb" for i in range(11))},
        {"redirect_uris": [f"https://app{i}.example.com/cb" for i in range(11)]},
    ),
}


@pytest.mark.parametrize("case", sorted(CLIENT_CASES))
def test_the_portal_refuses_a_client_as_the_api_does(portal, admin, case):
    email = admin
    form, body = CLIENT_CASES[case]
    before = scalar(portal.env["LIMEN_DATABASE_URL"], CLIENTS)
    full_form = {"name": "c", "grants": "client_credentials", "scopes": "profile", **form}
    page = portal_post(portal, email, "/admin/clients", "/admin/clients", full_form)
    detail = api_detail(
        portal,
        email,
        "POST",
        "/api/v1/clients",
        {"name": "c", "grant_types": ["client_credentials"], "scopes": ["profile"], **body},
    )
    assert detail.startswith("Fix these fields and retry: ") and detail in page
    assert scalar(portal.env["LIMEN_DATABASE_URL"], CLIENTS) == before


def test_a_flag_that_is_no_yes_or_no_is_refused(portal, admin):
    email = admin
    before = scalar(portal.env["LIMEN_DATABASE_URL"], CLIENTS)
    form = {"name": "c", "grants": "client_credentials", "scopes": "profile", "public": "maybe"}
    page = portal_post(portal, email, "/admin/clients", "/admin/clients", form)
    assert "public: Input should be a valid boolean" in page
    assert scalar(portal.env["LIMEN_DATABASE_URL"], CLIENTS) == before


def test_the_portal_refuses_an_overlap_as_the_api_does(portal, admin):
    email = admin
    headers = bearer_for(portal, email)
    client = httpx.post(
        f"{portal.url}/api/v1/clients",
        json={"name": "c", "grant_types": ["client_credentials"], "scopes": ["profile"]},
        headers=headers,
    ).json()
    action = f"/admin/clients/{client['client_id']}/rotate"
    page = portal_post(portal, email, "/admin/clients", action, {"overlap_seconds": "2592001"})
    path = f"/api/v1/clients/{client['client_id']}/rotate-secret"
    assert api_detail(portal, email, "POST", path, {"overlap_seconds": 2592001}) in page
    token = httpx.post(
        f"{portal.url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "profile"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert token.status_code == 200  # the secret was not rotated


def test_the_portal_refuses_a_role_as_the_api_does(portal, admin):
    email = admin
    target = create_user(portal)
    target_id = httpx.get(f"{portal.url}/api/v1/me", headers=bearer_for(portal, target)).json()[
        "sub"
    ]
    page = portal_post(
        portal,
        email,
        "/admin/users",
        f"/admin/users/{target_id}/roles",
        {"roles": ["analyst", "root"]},
    )
    path = f"/api/v1/users/{target_id}"
    body = {"roles": ["analyst", "root"]}
    assert api_detail(portal, email, "PATCH", path, body) in page
    assert query(portal.env["LIMEN_DATABASE_URL"], ROLES, e=target) == [("analyst",)]
