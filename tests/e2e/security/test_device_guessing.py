"""Finding 6: every path that checks a device user code is limited, per address, per account
and per code (RFC 8628 §5.1): GET /device?user_code=... no longer answers unlimited guesses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.support.browser import csrf_from, sign_in
from tests.support.factories import PASSWORD, create_user


@contextmanager
def signed_in(node) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=30) as http:
        sign_in(http, node.url, create_user(node), PASSWORD)
        yield http


def test_guesses_through_get_and_post_share_one_budget(make_database, start_server):
    node = start_server(make_database("sqlite"), LIMEN_RATELIMIT_DEVICE_ENTRY="3/minute")
    with signed_in(node) as http:
        token = csrf_from(http.get("/device").text)  # the empty form is not a guess
        answers = [
            http.get("/device", params={"user_code": "BCDF-GHJK"}).status_code,
            http.post("/device", data={"user_code": "BCDF-GHJL", "csrf_token": token}).status_code,
            http.get("/device", params={"user_code": "BCDF-GHJM"}).status_code,
            http.get("/device", params={"user_code": "BCDF-GHJN"}).status_code,
        ]
    assert answers == [400, 400, 400, 429]


def test_one_code_cannot_be_tried_from_many_addresses(make_database, start_server):
    node = start_server(
        make_database("sqlite"), LIMEN_TRUSTED_PROXIES="1", LIMEN_RATELIMIT_DEVICE_CODE="3/minute"
    )
    with signed_in(node) as http:
        answers = [
            http.get(
                "/device",
                params={"user_code": "bcdf ghjk"},  # the same code, however it is written
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            ).status_code
            for i in range(4)
        ]
    assert answers == [400, 400, 400, 429]
