"""Finding 9: after the lockout threshold an unknown address answers exactly like a real one
(423, the same body shape and Retry-After, the same timing class), so lockout does not tell
an attacker which addresses have accounts."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.factories import unique_email

pytestmark = pytest.mark.both_backends  # uniqueness, concurrency and transactions differ


def attempt(server, email: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/auth/login", json={"email": email, "password": "wrong password!"}, timeout=60
    )


def after_threshold(server, email: str) -> tuple[list[int], httpx.Response, float]:
    codes = [attempt(server, email).status_code for _ in range(5)]
    started = time.perf_counter()
    locked = attempt(server, email)
    return codes, locked, time.perf_counter() - started


def shape(response: httpx.Response) -> tuple:
    body = response.json()
    return (
        response.status_code,
        response.headers["Content-Type"],
        response.headers.get("Retry-After") is not None,
        sorted(body),
        body["detail"],
    )


def test_unknown_and_real_addresses_lock_alike(api, server):
    real_codes, real, real_seconds = after_threshold(server, api.register().email)
    ghost_codes, ghost, ghost_seconds = after_threshold(server, unique_email("ghost"))
    assert real_codes == ghost_codes == [401] * 5
    assert shape(ghost) == shape(real)
    assert real.status_code == 423
    assert abs(int(ghost.headers["Retry-After"]) - int(real.headers["Retry-After"])) <= 1
    # Neither runs a password check once locked: both answer in the same (fast) class.
    assert ghost_seconds < 1.0 and real_seconds < 1.0


def test_an_unknown_address_lock_also_expires(server):
    ghost = unique_email("ghost")
    _, locked, _ = after_threshold(server, ghost)
    time.sleep(int(locked.headers["Retry-After"]) + 0.5)
    assert attempt(server, ghost).status_code == 401
