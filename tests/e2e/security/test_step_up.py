"""Step-up authentication (RFC 9470) on Limen's own sensitive actions, over real HTTP: a
sign-in older than LIMEN_STEP_UP_MAX_AGE (or without the second factor a person has) gets
401 insufficient_user_authentication and changes nothing; a fresh sign-in goes through; API
keys and client credentials are refused outright (they cannot step up)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.factories import PASSWORD, Account, Api, create_user
from tests.support.live import LiveServer
from tests.support.mfa import enroll, next_code

MAX_AGE = 4
ONE_FACTOR = "urn:limen:acr:1fa"
TWO_FACTORS = "urn:limen:acr:2fa"


@pytest.fixture(scope="module")
def node(make_database, start_server) -> LiveServer:
    return start_server(make_database("postgresql"), LIMEN_STEP_UP_MAX_AGE=str(MAX_AGE))


def login(node: LiveServer, email: str, otp: str | None = None) -> dict[str, str]:
    body = {"email": email, "password": PASSWORD} | ({"otp": otp} if otp else {})
    answer = httpx.post(f"{node.url}/auth/login", json=body)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def new_client(node: LiveServer, admin: dict[str, str], **body) -> dict:
    payload = {"name": "svc", "grant_types": ["client_credentials"], **body}
    made = httpx.post(f"{node.url}/api/v1/clients", json=payload, headers=admin)
    assert made.status_code == 201, made.text
    return dict(made.json())


def service_token(node: LiveServer, client: dict) -> str:
    got = httpx.post(
        f"{node.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert got.status_code == 200, got.text
    return str(got.json()["access_token"])


def assert_step_up(answer: httpx.Response, acr: str) -> None:
    assert answer.status_code == 401, answer.text
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_user_authentication"' in challenge
    assert f'acr_values="{acr}"' in challenge and f'max_age="{MAX_AGE}"' in challenge
    assert answer.headers["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == "urn:limen:problem:insufficient-user-authentication"
    assert body["acr_values"] == acr and body["max_age"] == MAX_AGE and body["detail"]


def test_a_stale_sign_in_cannot_rotate_a_secret_until_it_signs_in_again(node):
    email = create_user(node, "admin")
    admin = login(node, email)
    client = new_client(node, admin)
    time.sleep(MAX_AGE + 1.5)
    rotate = f"{node.url}/api/v1/clients/{client['client_id']}/rotate-secret"
    assert_step_up(httpx.post(rotate, json={}, headers=admin), ONE_FACTOR)
    assert_step_up(
        httpx.post(
            f"{node.url}/api/v1/clients/{client['client_id']}/collect-secret", headers=admin
        ),
        ONE_FACTOR,
    )
    assert_step_up(
        httpx.post(f"{node.url}/api/v1/jobs/rotate-keys", json={}, headers=admin), ONE_FACTOR
    )
    service_token(node, client)  # nothing changed: the secret still works, no successor
    me = httpx.get(f"{node.url}/api/v1/me", headers=admin)
    assert me.status_code == 200  # the token itself is fine for everything else

    fresh = login(node, email)
    rotated = httpx.post(rotate, json={"overlap_seconds": 0}, headers=fresh)
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["client_secret"] != client["client_secret"]
    queued = httpx.post(f"{node.url}/api/v1/jobs/rotate-keys", json={}, headers=fresh)
    assert queued.status_code == 202, queued.text


def test_a_stale_role_change_changes_nothing_while_other_changes_go_through(node):
    admin_email = create_user(node, "admin")
    admin = login(node, admin_email)
    with Api(node.url) as api:
        target = api.register()
    time.sleep(MAX_AGE + 1.5)
    url = f"{node.url}/api/v1/users/{target.id}"
    both = httpx.patch(url, json={"roles": ["admin"], "locked": True}, headers=admin)
    assert_step_up(both, ONE_FACTOR)
    row = httpx.get(url, headers=admin).json()
    assert row["roles"] == ["analyst"] and row["locked"] is False  # nothing half-written
    lock = httpx.patch(url, json={"locked": True}, headers=admin)
    assert lock.status_code == 200 and lock.json()["locked"] is True  # not a step-up action
    promoted = httpx.patch(url, json={"roles": ["admin"]}, headers=login(node, admin_email))
    assert promoted.status_code == 200 and promoted.json()["roles"] == ["admin"]


def test_a_person_with_a_second_factor_must_use_it(node):
    email = create_user(node, "admin")
    one_factor = login(node, email)
    with Api(node.url) as api:
        account = api.register()
    totp, _ = enroll(node, Account(email, PASSWORD, ""))  # after the one-factor sign-in
    rotate = f"{node.url}/api/v1/jobs/rotate-keys"
    assert_step_up(httpx.post(rotate, json={}, headers=one_factor), TWO_FACTORS)
    two = login(node, email, next_code(totp))
    promoted = httpx.patch(
        f"{node.url}/api/v1/users/{account.id}", json={"roles": ["admin"]}, headers=two
    )
    assert promoted.status_code == 200, promoted.text


def test_api_keys_and_client_credentials_cannot_do_sensitive_actions(node):
    admin = login(node, create_user(node, "admin"))
    key = httpx.post(
        f"{node.url}/api/v1/api-keys",
        json={"name": "ops", "scopes": ["clients:write", "users:write", "signing-keys:write"]},
        headers=admin,
    )
    assert key.status_code == 201, key.text
    as_key = {"Authorization": f"Bearer {key.json()['key']}"}
    victim = new_client(node, admin)
    robot = new_client(node, admin, scopes=["clients:write"])
    as_robot = {"Authorization": f"Bearer {service_token(node, robot)}"}
    for headers in (as_key, {"X-API-Key": key.json()["key"]}, as_robot):
        refused = httpx.post(
            f"{node.url}/api/v1/clients/{victim['client_id']}/rotate-secret",
            json={},
            headers=headers,
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"] == "urn:limen:problem:person-required"
        assert "API keys and client credentials" in refused.json()["detail"]
    assert httpx.post(f"{node.url}/api/v1/jobs/rotate-keys", headers=as_key).status_code == 403
    service_token(node, victim)  # its secret was not rotated


@pytest.mark.parametrize(
    "body",
    [{"roles": "admin"}, {"roles": ["root"]}, {"roles": None, "locked": "yes"}, {"roles": [1]}],
)
def test_malformed_role_changes_are_400_before_any_step_up(node, body):
    admin = login(node, create_user(node, "admin"))
    with Api(node.url) as api:
        target = api.register()
    answer = httpx.patch(f"{node.url}/api/v1/users/{target.id}", json=body, headers=admin)
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_a_tampered_token_is_invalid_not_a_step_up(node):
    admin = login(node, create_user(node, "admin"))
    forged = {"Authorization": admin["Authorization"] + "x"}
    answer = httpx.post(f"{node.url}/api/v1/jobs/rotate-keys", json={}, headers=forged)
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
