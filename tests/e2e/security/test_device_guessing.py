"""Finding 6: every path that checks a device user code is limited, per address, per account
and per code (RFC 8628 §5.1): GET /device?user_code=... no longer answers unlimited guesses."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.support.browser import csrf_from, sign_in
from tests.support.factories import Api


def address() -> str:
    return f"198.51.100.{secrets.randbelow(250) + 1}"


@contextmanager
def signed_in(node, ip: str) -> Iterator[httpx.Client]:
    """A browser of a new account, coming from ``ip`` (the node trusts one proxy)."""
    headers = {"X-Forwarded-For": ip}
    with Api(node.url) as api, httpx.Client(base_url=node.url, headers=headers) as http:
        account = api.register()
        sign_in(http, node.url, account.email, account.password)
        yield http


def test_guesses_through_get_and_post_share_one_budget(strict_node):
    with signed_in(strict_node, address()) as http:
        token = csrf_from(http.get("/device").text)  # the empty form is not a guess
        answers = [
            http.get("/device", params={"user_code": "BCDF-GHJK"}).status_code,
            http.post("/device", data={"user_code": "BCDF-GHJL", "csrf_token": token}).status_code,
            http.get("/device", params={"user_code": "BCDF-GHJM"}).status_code,
            http.get("/device", params={"user_code": "BCDF-GHJN"}).status_code,
        ]
    assert answers == [400, 400, 400, 429]


def test_one_code_cannot_be_tried_from_many_addresses_and_accounts(strict_node):
    code = "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(8))
    answers = []
    for _ in range(4):  # each try from another address and another account
        with signed_in(strict_node, address()) as http:
            spelled = f"{code[:4].lower()} {code[4:].lower()}"  # however it is written
            answers.append(http.get("/device", params={"user_code": spelled}).status_code)
    assert answers == [400, 400, 400, 429]
