"""Bad input for every endpoint of the foundation: a clear 4xx problem, nothing written."""

from __future__ import annotations

import pytest

from tests.support.db import counts
from tests.support.factories import Api

ENDPOINTS = ["/auth/register", "/auth/login", "/auth/refresh", "/auth/logout", "/api/v1/api-keys"]

BODIES = {
    "bad json": (b'{"email": "a@example.com", ', "application/json", 400),
    "json array": (b"[1, 2, 3]", "application/json", 400),
    "json string": (b'"hello"', "application/json", 400),
    "form encoded": (b"email=a&password=b", "application/x-www-form-urlencoded", 415),
    "huge": (b'{"email": "' + b"a" * 200_000 + b'"}', "application/json", 413),
    "invalid utf-8": (b'{"email": "\xff\xfe"}', "application/json", 400),
}


@pytest.fixture
def auth_headers(api: Api) -> dict[str, str]:
    return api.bearer(api.login(api.register())["access_token"])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("case", sorted(BODIES))
def test_malformed_bodies(api: Api, server, auth_headers, endpoint: str, case: str):
    body, content_type, status = BODIES[case]
    before = counts(server.env["LIMEN_DATABASE_URL"])
    response = api.http.post(
        endpoint, content=body, headers={**auth_headers, "Content-Type": content_type}
    )
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["detail"]
    assert counts(server.env["LIMEN_DATABASE_URL"]) == before


FIELD_CASES = [
    ("/auth/register", {}, "email"),
    ("/auth/register", {"email": "x@example.com"}, "password"),
    ("/auth/register", {"email": 42, "password": "long enough password"}, "email"),
    ("/auth/register", {"email": "x@example.com", "password": ["a"]}, "password"),
    (
        "/auth/register",
        {"email": "x@example.com", "password": "long enough pw", "admin": True},
        "admin",
    ),
    ("/auth/login", {"email": "x@example.com"}, "password"),
    ("/auth/login", {"email": None, "password": "x"}, "email"),
    ("/auth/login", {"email": "x@example.com", "password": 12345678}, "password"),
    ("/auth/refresh", {"refresh_token": 5}, "refresh_token"),
    ("/auth/logout", {"refresh_token": {"a": 1}}, "refresh_token"),
    ("/api/v1/api-keys", {"scopes": ["profile"]}, "name"),
    ("/api/v1/api-keys", {"name": "k", "scopes": "profile"}, "scopes"),
    ("/api/v1/api-keys", {"name": "k", "scopes": []}, "scopes"),
    (
        "/api/v1/api-keys",
        {"name": "k", "scopes": ["profile"], "expires_in_days": "7"},
        "expires_in_days",
    ),
    (
        "/api/v1/api-keys",
        {"name": "k", "scopes": ["profile"], "expires_in_days": 9999},
        "expires_in_days",
    ),
    (
        "/api/v1/api-keys",
        {"name": "k", "scopes": ["profile"], "expires_at": "tomorrow"},
        "expires_at",
    ),
]


@pytest.mark.parametrize(("endpoint", "payload", "field"), FIELD_CASES)
def test_missing_and_mistyped_fields(api: Api, server, auth_headers, endpoint, payload, field):
    before = counts(server.env["LIMEN_DATABASE_URL"])
    response = api.http.post(endpoint, json=payload, headers=auth_headers)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"].endswith("validation-error")
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    assert field in problem["detail"]
    assert counts(server.env["LIMEN_DATABASE_URL"]) == before


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        ({"email": "not-an-email", "password": "long enough password"}, 422, "valid email"),
        ({"email": "short@example.com", "password": "short"}, 422, "at least"),
        ({"email": "same@example.com", "password": "same@example.com"}, 422, "email"),
    ],
)
def test_register_policy_violations(api: Api, server, payload, status, words):
    before = counts(server.env["LIMEN_DATABASE_URL"])
    response = api.http.post("/auth/register", json=payload)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert counts(server.env["LIMEN_DATABASE_URL"]) == before


def test_duplicate_registration_is_a_conflict(api: Api, server):
    account = api.register()
    before = counts(server.env["LIMEN_DATABASE_URL"])
    response = api.http.post(
        "/auth/register", json={"email": account.email.upper(), "password": account.password}
    )
    assert response.status_code == 409
    assert counts(server.env["LIMEN_DATABASE_URL"]) == before


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/auth/login", 405),
        ("GET", "/nowhere", 404),
        ("DELETE", "/api/v1/me", 405),
        ("POST", "/api/v1/api-keys/nope/rotate", 404),
        ("DELETE", "/api/v1/api-keys/nope", 404),
    ],
)
def test_wrong_routes_and_methods(api: Api, auth_headers, method, path, status):
    response = api.http.request(method, path, headers=auth_headers)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"


def test_unsupported_api_version_lists_supported(api: Api, auth_headers):
    response = api.http.get("/api/v1/me", headers={**auth_headers, "Limen-API-Version": "7"})
    assert response.status_code == 400
    assert response.json()["supported"] == ["1"]
