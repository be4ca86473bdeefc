"""Passkeys over real HTTP against a real node (PostgreSQL, Redis, granian) whose issuer is
``http://localhost:PORT`` (browsers refuse an IP address as a passkey's site): a software
passkey answers the options the way a browser would, and lies the way an attacker would —
a replayed challenge, another person's credential, another origin, a counter gone back,
malformed answers. Every refusal is a clear 4xx and leaves the passkeys as they were."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.conftest import base_env
from tests.support.browser import csrf_from, sign_in
from tests.support.db import scalar
from tests.support.factories import Account, Api, bearer_for, create_user
from tests.support.live import LiveServer
from tests.support.mfa import enroll
from tests.support.passkey import SoftPasskey, b64url
from tests.support.services import free_port


class Node:
    def __init__(self, server: LiveServer, base: str) -> None:
        self.server, self.base = server, base
        self.db = server.env["LIMEN_DATABASE_URL"]
        self.url = server.url  # 127.0.0.1: what tests.support.mfa talks to

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30)


@pytest.fixture(scope="module")
def pk(redis_server, make_database) -> Iterator[Node]:
    port = free_port()
    base = f"http://localhost:{port}"
    server = LiveServer(
        base_env(redis_server.url, make_database("postgresql"), LIMEN_ISSUER=base), port=port
    )
    server.start()
    yield Node(server, base)
    server.stop()


def account(node: Node) -> Account:
    with Api(node.base) as api:
        return api.register()


@contextmanager
def signed_in(node: Node, who: Account) -> Iterator[httpx.Client]:
    with node.client() as http:
        sign_in(http, node.base, who.email, who.password)
        yield http


def register(http: httpx.Client, passkey: SoftPasskey, name: str = "") -> httpx.Response:
    page = http.get("/mfa")
    token = csrf_from(page.text)
    options = http.post("/passkeys/options", headers={"X-CSRFToken": token})
    assert options.status_code == 200, options.text
    return http.post(
        "/passkeys",
        data={"csrf_token": token, "name": name, "credential": passkey.create(options.json())},
    )


def sign_in_options(http: httpx.Client) -> tuple[str, dict[str, Any]]:
    token = csrf_from(http.get("/login").text)
    options = http.post("/login/passkey/options", headers={"X-CSRFToken": token})
    assert options.status_code == 200, options.text
    assert options.headers["Cache-Control"] == "no-store"
    return token, options.json()


def post_answer(http: httpx.Client, token: str, answer: str) -> httpx.Response:
    return http.post(
        "/login/passkey", data={"csrf_token": token, "next": "/", "credential": answer}
    )


def alert(response: httpx.Response) -> str:
    found = re.search(r'role="alert"[^>]*>([^<]*)<', response.text)
    assert found, response.text[:600]
    return html.unescape(found.group(1))


def state(node: Node, who: Account) -> tuple[Any, ...]:
    """What a refusal must leave as it was: the passkeys' counters and uses, the sessions."""
    return (
        scalar(
            node.db,
            "SELECT string_agg(name || ':' || sign_count || ':' || coalesce("
            "last_used_at::text, '-'), ',' ORDER BY created_at) FROM passkeys "
            "WHERE user_id = :uid",
            uid=who.id,
        ),
        scalar(node.db, "SELECT count(*) FROM sessions WHERE user_id = :uid", uid=who.id),
    )


def failures(node: Node, reason: str) -> int:
    return int(
        scalar(
            node.db,
            "SELECT count(*) FROM audit_events WHERE event = 'passkey.failure' "
            "AND outcome = 'failure' AND details->>'reason' = :reason",
            reason=reason,
        )
    )


def test_register_then_sign_in_with_the_passkey_alone(pk):
    who, passkey = account(pk), SoftPasskey(pk.base)
    with signed_in(pk, who) as http:
        added = register(http, passkey, "Laptop")
    assert added.status_code == 200 and "Passkey “Laptop” added." in added.text
    options = json.loads(
        scalar(pk.db, "SELECT transports::text FROM passkeys WHERE user_id = :u", u=who.id)
    )
    assert options == ["internal"]

    with pk.client() as http:
        token, options = sign_in_options(http)
        assert options["rpId"] == "localhost" and options["userVerification"] == "required"
        assert options["allowCredentials"] == []  # usernameless: the passkey names the account
        done = post_answer(http, token, passkey.get(options))
        assert done.status_code == 303 and done.headers["Location"] == "/", done.text[:300]
        me = http.get("/api/v1/me").json()
    assert me["email"] == who.email
    assert me["amr"] == ["hwk"] and me["acr"] == "urn:limen:acr:2fa"
    assert me["auth_method"] == "passkey"
    assert scalar(pk.db, "SELECT sign_count FROM passkeys WHERE user_id = :u", u=who.id) == 1
    events = scalar(
        pk.db,
        "SELECT string_agg(event, ' ' ORDER BY occurred_at, event) FROM audit_events "
        "WHERE user_id = :u AND event LIKE 'passkey.%'",
        u=who.id,
    )
    assert events == "passkey.registered passkey.used"
    kinds = scalar(pk.db, "SELECT count(*) FROM mail_messages WHERE kind = 'notice_passkey_added'")
    assert kinds >= 1


def test_a_replayed_challenge_is_refused(pk):
    who, passkey = account(pk), SoftPasskey(pk.base)
    with signed_in(pk, who) as http:
        register(http, passkey)
    with pk.client() as http:
        token, options = sign_in_options(http)
        answer = passkey.get(options)
        assert post_answer(http, token, answer).status_code == 303
    before = state(pk, who)
    with pk.client() as http:
        token = csrf_from(http.get("/login").text)
        again = post_answer(http, token, answer)
        assert again.status_code == 401
        assert "expired or was already answered" in alert(again)
        # the same challenge signed anew (a fresh counter) is just as dead
        fresh = post_answer(http, token, passkey.get(options))
        assert fresh.status_code == 401 and "already answered" in alert(fresh)
        assert http.get("/api/v1/me").status_code == 401
    assert state(pk, who) == before
    assert failures(pk, "malformed_or_replayed") >= 2


def test_another_persons_passkey_does_not_sign_in_as_someone_else(pk):
    alice, bob = account(pk), account(pk)
    alices = SoftPasskey(pk.base)
    with signed_in(pk, alice) as http:
        register(http, alices)
    before = state(pk, alice), state(pk, bob)
    # Alice's credential, signed correctly, claiming to be Bob's (the user handle)
    with pk.client() as http:
        token, options = sign_in_options(http)
        forged = alices.get(options, user_handle=bob.id.encode())
        refused = post_answer(http, token, forged)
        assert refused.status_code == 401
        assert alert(refused) == "This passkey belongs to another account."
    assert (state(pk, alice), state(pk, bob)) == before


def test_a_passkey_of_another_account_is_no_second_step(pk):
    alice, bob = account(pk), account(pk)
    alices = SoftPasskey(pk.base)
    with signed_in(pk, alice) as http:
        register(http, alices)
    bobs = SoftPasskey(pk.base)
    with signed_in(pk, bob) as http:
        register(http, bobs)
    enroll(pk, bob)  # two-step verification on: the password asks for a second step
    before = state(pk, alice)
    with pk.client() as http:
        page = http.get("/login")
        step = http.post(
            "/login",
            data={"email": bob.email, "password": bob.password, "csrf_token": csrf_from(page.text)},
        )
        assert step.status_code == 200 and "Use a passkey instead" in step.text
        ticket = re.search(r'name="ticket" value="([^"]+)"', step.text).group(1)
        token = csrf_from(step.text)
        options = http.post(
            "/login/verify/passkey-options",
            data={"ticket": ticket},
            headers={"X-CSRFToken": token},
        )
        assert options.status_code == 200, options.text
        allowed = [c["id"] for c in options.json()["allowCredentials"]]
        assert allowed == [b64url(bobs.credential_id)]
        refused = http.post(
            "/login/verify",
            data={
                "csrf_token": token,
                "ticket": ticket,
                "next": "/",
                "passkey": alices.get(options.json()),
            },
        )
        assert refused.status_code == 401
        assert "belongs to another account" in alert(refused)
        assert "Use a passkey instead" in refused.text  # another try, on a fresh ticket
    assert state(pk, alice) == before
    failed = scalar(pk.db, "SELECT failed_login_count FROM users WHERE id = :u", u=bob.id)
    assert failed == 1  # a wrong second step counts like a wrong code


def test_a_passkey_as_the_second_step_after_the_password(pk):
    who, passkey = account(pk), SoftPasskey(pk.base)
    with signed_in(pk, who) as http:
        register(http, passkey, "Key")
    enroll(pk, who)
    with pk.client() as http:
        page = http.get("/login")
        step = http.post(
            "/login",
            data={"email": who.email, "password": who.password, "csrf_token": csrf_from(page.text)},
        )
        ticket = re.search(r'name="ticket" value="([^"]+)"', step.text).group(1)
        token = csrf_from(step.text)
        options = http.post(
            "/login/verify/passkey-options", data={"ticket": ticket}, headers={"X-CSRFToken": token}
        ).json()
        done = http.post(
            "/login/verify",
            data={
                "csrf_token": token,
                "ticket": ticket,
                "next": "/",
                "passkey": passkey.get(options),
            },
        )
        assert done.status_code == 303, done.text[:300]
        me = http.get("/api/v1/me").json()
    assert me["amr"] == ["pwd", "hwk", "mfa"] and me["acr"] == "urn:limen:acr:2fa"
    # the ticket was spent by that sign-in: its options door now says so
    with pk.client() as http:
        token = csrf_from(http.get("/login").text)
        late = http.post(
            "/login/verify/passkey-options", data={"ticket": ticket}, headers={"X-CSRFToken": token}
        )
    assert late.status_code == 401
    assert late.headers["Content-Type"] == "application/problem+json"
    assert "start again" in late.json()["detail"]


def test_an_answer_made_for_another_origin_is_refused(pk):
    who, passkey = account(pk), SoftPasskey(pk.base)
    with signed_in(pk, who) as http:
        register(http, passkey)
    before = state(pk, who)
    with pk.client() as http:
        token, options = sign_in_options(http)
        phished = post_answer(http, token, passkey.get(options, origin="http://localhost.evil"))
        assert phished.status_code == 401
        assert 'Unexpected client data origin "http://localhost.evil"' in alert(phished)
    assert state(pk, who) == before
    assert failures(pk, "invalid_assertion") >= 1
    # registering from another origin is refused the same way
    with signed_in(pk, who) as http:
        page = http.get("/mfa")
        token = csrf_from(page.text)
        options = http.post("/passkeys/options", headers={"X-CSRFToken": token}).json()
        other = SoftPasskey(pk.base)
        refused = http.post(
            "/passkeys",
            data={
                "csrf_token": token,
                "credential": other.create(options, origin="http://localhost.evil"),
            },
        )
    assert refused.status_code == 400 and "origin" in alert(refused)
    assert scalar(pk.db, "SELECT count(*) FROM passkeys WHERE user_id = :u", u=who.id) == 1


def test_a_counter_that_went_back_is_refused_and_on_record(pk):
    who, passkey = account(pk), SoftPasskey(pk.base)
    with signed_in(pk, who) as http:
        register(http, passkey)
    with pk.client() as http:
        token, options = sign_in_options(http)
        assert post_answer(http, token, passkey.get(options, counter=7)).status_code == 303
    before = state(pk, who)
    with pk.client() as http:
        token, options = sign_in_options(http)
        cloned = post_answer(http, token, passkey.get(options, counter=7))
        assert cloned.status_code == 401 and "went backwards" in alert(cloned)
    assert state(pk, who) == before
    assert failures(pk, "sign_count_regression") >= 1


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "not json",
        "[]",
        json.dumps({"id": "x", "rawId": "x", "type": "public-key", "response": {}}),
        json.dumps(
            {
                "id": "AA",
                "rawId": "AA",
                "type": "public-key",
                "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"},
            }
        ),
        "x" * 20000,
    ],
)
def test_malformed_answers_get_a_clear_refusal(pk, answer):
    with pk.client() as http:
        token = csrf_from(http.get("/login").text)
        refused = post_answer(http, token, answer)
    assert refused.status_code == 401
    assert "passkey" in alert(refused).lower()


def test_names_renames_and_removal_are_the_owners_only(pk):
    alice, mallory = account(pk), account(pk)
    with signed_in(pk, alice) as http:
        register(http, SoftPasskey(pk.base), "Phone")
        register(http, SoftPasskey(pk.base))  # unnamed: a default name
        page = http.get("/mfa")
        assert "Phone" in page.text and "Passkey 2" in page.text
        ids = re.findall(r'data-passkey-id="([^"]+)"', page.text)
    assert len(ids) == 2
    with signed_in(pk, mallory) as http:
        token = csrf_from(http.get("/mfa").text)
        renamed = http.post(f"/passkeys/{ids[0]}/rename", data={"csrf_token": token, "name": "x"})
        removed = http.post(f"/passkeys/{ids[0]}/remove", data={"csrf_token": token})
        confirm = http.get(f"/passkeys/{ids[0]}/remove")
    assert (renamed.status_code, removed.status_code, confirm.status_code) == (404, 404, 404)
    with signed_in(pk, alice) as http:
        token = csrf_from(http.get("/mfa").text)
        too_long = http.post(
            f"/passkeys/{ids[0]}/rename", data={"csrf_token": token, "name": "n" * 65}
        )
        assert too_long.status_code == 400 and "64 characters" in alert(too_long)
        no_csrf = http.post(f"/passkeys/{ids[0]}/remove")
        assert no_csrf.status_code == 400
        ask = http.get(f"/passkeys/{ids[1]}/remove")
        assert ask.status_code == 200 and "You keep 1 other passkey" in ask.text
    names = scalar(
        pk.db,
        "SELECT string_agg(name, ',' ORDER BY created_at) FROM passkeys WHERE user_id = :u",
        u=alice.id,
    )
    assert names == "Phone,Passkey 2"


def test_the_doors_need_a_session_and_a_csrf_token(pk):
    with pk.client() as http:
        anonymous = http.post("/passkeys/options")
        assert anonymous.status_code in (302, 400, 401)
        no_token = http.post("/login/passkey/options")
        assert no_token.status_code == 400
        unknown_ticket = http.post(
            "/login/verify/passkey-options",
            data={"ticket": "nope"},
            headers={"X-CSRFToken": csrf_from(http.get("/login").text)},
        )
    assert unknown_ticket.status_code == 401
    assert unknown_ticket.headers["Content-Type"] == "application/problem+json"


def test_a_locked_or_disabled_account_cannot_sign_in_with_its_passkey(pk):
    who, passkey = account(pk), SoftPasskey(pk.base)
    with signed_in(pk, who) as http:
        register(http, passkey)
    admin = bearer_for(pk.server, create_user(pk.server, "admin"))
    users = f"{pk.base}/api/v1/users/{who.id}"
    for change, status, words in (
        ({"locked": True}, 423, "locked by an administrator"),
        ({"locked": False, "active": False}, 401, "This account is disabled"),
    ):
        assert httpx.patch(users, json=change, headers=admin).status_code == 200
        with pk.client() as http:
            token, options = sign_in_options(http)
            refused = post_answer(http, token, passkey.get(options))
            assert refused.status_code == status and words in alert(refused)
            assert http.get("/api/v1/me").status_code == 401
    assert scalar(pk.db, "SELECT count(*) FROM sessions WHERE user_id = :u", u=who.id) == 1
