"""Rate limits: 429 with Retry-After after N, reset after the window, shared by every node."""

from __future__ import annotations

import time

import httpx

from tests.support.factories import unique_email


def login(node, email: str) -> httpx.Response:
    return httpx.post(f"{node.url}/auth/login", json={"email": email, "password": "wrong pw!"})


def test_login_limit_per_ip_is_shared_across_nodes_and_resets(make_database, start_server):
    url = make_database("sqlite")
    a = start_server(url, LIMEN_RATELIMIT_LOGIN="4 per 3 seconds")
    b = start_server(
        url, migrate=False, LIMEN_RATELIMIT_LOGIN="4 per 3 seconds", LIMEN_ISSUER=a.url
    )
    codes = [login(node, unique_email()).status_code for node in (a, b, a, b)]
    assert codes == [401] * 4
    limited = login(b, unique_email())
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 3
    assert limited.headers["Content-Type"] == "application/problem+json"
    time.sleep(int(limited.headers["Retry-After"]) + 0.5)
    assert login(a, unique_email()).status_code == 401  # the window has passed


def test_login_limit_per_account_holds_across_addresses(make_database, start_server):
    node = start_server(
        make_database("sqlite"),
        LIMEN_RATELIMIT_LOGIN_ACCOUNT="3/minute",
        LIMEN_LOCKOUT_THRESHOLD="100",
    )
    email = unique_email()
    assert [login(node, email).status_code for _ in range(3)] == [401] * 3
    assert login(node, email).status_code == 429
    assert login(node, unique_email()).status_code == 401  # other accounts are unaffected


def test_token_endpoint_limit_per_client(make_database, start_server):
    node = start_server(make_database("sqlite"), LIMEN_RATELIMIT_TOKEN_CLIENT="2/minute")
    data = {"grant_type": "client_credentials"}
    codes = [
        httpx.post(f"{node.url}/oauth/token", data=data, auth=("some-client", "x")).status_code
        for _ in range(3)
    ]
    assert codes[:2] == [401, 401] and codes[2] == 429
    other = httpx.post(f"{node.url}/oauth/token", data=data, auth=("other-client", "x"))
    assert other.status_code == 401
