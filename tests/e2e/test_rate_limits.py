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


def test_token_and_par_endpoint_limits_per_client(make_database, start_server):
    node = start_server(make_database("sqlite"), LIMEN_RATELIMIT_TOKEN_CLIENT="2/minute")
    data = {"grant_type": "client_credentials"}
    codes = [
        httpx.post(f"{node.url}/oauth/token", data=data, auth=("some-client", "x")).status_code
        for _ in range(3)
    ]
    assert codes[:2] == [401, 401] and codes[2] == 429
    other = httpx.post(f"{node.url}/oauth/token", data=data, auth=("other-client", "x"))
    assert other.status_code == 401
    pushed = [  # RFC 9126 pushed authorization requests: the token endpoint's limits
        httpx.post(f"{node.url}/oauth/par", data={}, auth=("some-client", "x")).status_code
        for _ in range(3)
    ]
    assert pushed == [401, 401, 429]


def test_register_device_authorization_and_code_entry_limits(make_database, start_server):
    from tests.support.browser import csrf_from, sign_in
    from tests.support.factories import create_user

    node = start_server(
        make_database("sqlite"),
        LIMEN_RATELIMIT_REGISTER="2/minute",
        LIMEN_RATELIMIT_TOKEN="2/minute",
        LIMEN_RATELIMIT_DEVICE_ENTRY="2/minute",
    )
    register = [
        httpx.post(
            f"{node.url}/auth/register",
            json={"email": unique_email(), "password": "long enough password"},
        ).status_code
        for _ in range(3)
    ]
    assert register == [201, 201, 429]

    device = [
        httpx.post(
            f"{node.url}/oauth/device_authorization", data={"client_id": "limen-cli"}
        ).status_code
        for _ in range(3)
    ]
    assert device == [200, 200, 429]

    email = create_user(node)  # the registration budget is spent: the operator's way
    with httpx.Client(base_url=node.url) as http:
        sign_in(http, node.url, email, "correct horse battery staple")
        token = csrf_from(http.get("/device").text)
        guesses = [
            http.post("/device", data={"user_code": "BCDF-GHJK", "csrf_token": token}).status_code
            for _ in range(3)
        ]
    assert guesses == [400, 400, 429]  # wrong codes, then the guessing stops
