"""Every way a sign-in session ends logs its relying parties out: a real RQ worker POSTs each
RP a back-channel logout token naming the ``sid`` of the ID token it got; RP-Initiated Logout
validates the id_token_hint and the post_logout_redirect_uri and echoes state. The RP is
Authlib's client, over real HTTP, on a node with its own database and Redis."""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import redis
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.jobs.conftest import JobProcess, wait_for
from tests.e2e.jobs.test_backchannel_logout import Receiver
from tests.support.browser import csrf_from, follow_authorize, sign_in
from tests.support.factories import Api, bearer_for, create_user
from tests.support.live import LiveServer
from webapp.identity.backchannel import LOGOUT_EVENT

RP_CALLBACK = "https://rp.example/cb"
RP_SIGNED_OUT = "https://rp.example/signed-out"
REDIS_DB = 12


class Node:
    """A Limen node with a worker, an admin, and a registered RP with its logout receiver."""

    def __init__(self, server: LiveServer, receiver: Receiver, admin: dict[str, str]) -> None:
        self.server, self.receiver, self.admin = server, receiver, admin
        created = httpx.post(
            f"{server.url}/api/v1/clients",
            json={
                "name": "Logout RP",
                "grant_types": ["authorization_code"],
                "scopes": ["openid", "profile"],
                "redirect_uris": [RP_CALLBACK],
                "post_logout_redirect_uris": [RP_SIGNED_OUT],
                "backchannel_logout_uri": receiver.url,
            },
            headers=admin,
        )
        assert created.status_code == 201, created.text
        self.client = created.json()

    @property
    def url(self) -> str:
        return self.server.url

    def keys(self) -> KeySet:
        return KeySet.import_key_set(httpx.get(f"{self.url}/oauth/jwks").json())

    def sign_in_rp(self, http: httpx.Client) -> dict[str, Any]:
        """The RP's code flow in the signed-in browser ``http``; its tokens."""
        meta = httpx.get(f"{self.url}/.well-known/openid-configuration").json()
        verifier = secrets.token_urlsafe(48)
        with OAuth2Client(
            client_id=self.client["client_id"],
            client_secret=self.client["client_secret"],
            code_challenge_method="S256",
            redirect_uri=RP_CALLBACK,
            scope="openid profile",
        ) as rp:
            url, _ = rp.create_authorization_url(
                meta["authorization_endpoint"], code_verifier=verifier, nonce="n"
            )
            return dict(
                rp.fetch_token(
                    meta["token_endpoint"],
                    authorization_response=follow_authorize(http, url),
                    code_verifier=verifier,
                )
            )

    def logout_token_for(self, sid: str) -> dict[str, Any]:
        """The verified claims of the logout token the receiver got for ``sid``."""

        def found() -> dict[str, Any] | None:
            for _, _, form, _ in self.receiver.received:
                token = form["logout_token"][0]
                claims = dict(jwt.decode(token, self.keys(), algorithms=["RS256"]).claims)
                if claims["sid"] == sid:
                    return claims
            return None

        return wait_for(found, 30, f"a logout token for {sid}")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def node(
    make_database: Callable[[str], str],
    start_server: Callable[..., LiveServer],
    redis_server: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Node]:
    redis_url = redis_server.url.rsplit("/", 1)[0] + f"/{REDIS_DB}"
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    server = start_server(make_database("sqlite"), LIMEN_REDIS_URL=redis_url)
    log = tmp_path_factory.mktemp("logout") / "worker.log"
    worker = JobProcess(("worker",), {**os.environ, **server.env}, Path(log)).start()
    receiver = Receiver([])
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        yield Node(server, receiver, bearer_for(server, create_user(server, "admin")))
    finally:
        worker.stop()
        receiver.shutdown()
        receiver.server_close()


def portal_sign_out(node: Node, http: httpx.Client, account: Any) -> None:
    page = http.get(f"{node.url}/")
    assert http.post(
        f"{node.url}/logout", data={"csrf_token": csrf_from(page.text)}
    ).status_code in (303,)


def api_logout(node: Node, http: httpx.Client, account: Any) -> None:
    cookie = next(v for k, v in http.cookies.items() if k.endswith("limen_at"))
    done = httpx.post(f"{node.url}/auth/logout", headers={"Authorization": f"Bearer {cookie}"})
    assert done.status_code == 204, done.text


def session_revoke(node: Node, http: httpx.Client, account: Any) -> None:
    portal_sid = http.get(f"{node.url}/api/v1/me").json()["session_id"]
    own = bearer_for(node.server, account.email)  # another session of the same person
    done = httpx.delete(f"{node.url}/api/v1/sessions/{portal_sid}", headers=own)
    assert done.status_code == 204, done.text


def admin_disable(node: Node, http: httpx.Client, account: Any) -> None:
    done = httpx.patch(
        f"{node.url}/api/v1/users/{account.id}", json={"active": False}, headers=node.admin
    )
    assert done.status_code == 200, done.text


@pytest.mark.parametrize(
    "end", [portal_sign_out, api_logout, session_revoke, admin_disable], ids=lambda f: f.__name__
)
def test_every_way_a_session_ends_logs_its_relying_parties_out(node: Node, end) -> None:
    with Api(node.url) as api:
        account = api.register()
    with httpx.Client(timeout=30) as http:
        sign_in(http, node.url, account.email, account.password)
        tokens = node.sign_in_rp(http)
        id_claims = dict(jwt.decode(tokens["id_token"], node.keys(), algorithms=["RS256"]).claims)
        rp_bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert httpx.get(f"{node.url}/api/v1/me", headers=rp_bearer).status_code == 200
        assert (
            id_claims["sid"]
            == httpx.get(f"{node.url}/api/v1/me", headers=rp_bearer).json()["session_id"]
        )  # the ID token names the RP's session

        end(node, http, account)

    logout = node.logout_token_for(id_claims["sid"])
    assert logout["aud"] == node.client["client_id"] and logout["sub"] == account.id
    assert logout["events"] == {LOGOUT_EVENT: {}} and "nonce" not in logout
    assert httpx.get(f"{node.url}/api/v1/me", headers=rp_bearer).status_code == 401


def test_rp_initiated_logout_with_a_hint_returns_to_the_rp(node: Node) -> None:
    with Api(node.url) as api:
        account = api.register()
    with httpx.Client(timeout=30) as http:
        sign_in(http, node.url, account.email, account.password)
        tokens = node.sign_in_rp(http)
        sid = dict(jwt.decode(tokens["id_token"], node.keys(), algorithms=["RS256"]).claims)["sid"]
        query = urlencode(
            {
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": RP_SIGNED_OUT,
                "state": "s-42",
            }
        )
        answer = http.get(f"{node.url}/oauth/logout?{query}")
        assert answer.status_code == 303
        assert answer.headers["Location"] == f"{RP_SIGNED_OUT}?state=s-42"
        assert http.get(f"{node.url}/api/v1/me").status_code == 401  # the portal too
    node.logout_token_for(sid)


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"post_logout_redirect_uri": "https://evil.example/"}, "not one this client"),
        ({"post_logout_redirect_uri": RP_SIGNED_OUT + "/x"}, "not one this client"),
        ({"post_logout_redirect_uri": RP_SIGNED_OUT, "hint": None}, "send client_id"),
        ({"id_token_hint": "e30.e30.e30"}, "not an ID token"),
        ({"id_token_hint": "not a jwt"}, "not an ID token"),
        ({"client_id": "someone-else"}, "client_id is not"),
    ],
)
def test_a_logout_request_that_does_not_hold_changes_nothing(node: Node, params, why) -> None:
    with Api(node.url) as api:
        account = api.register()
    with httpx.Client(timeout=30) as http:
        sign_in(http, node.url, account.email, account.password)
        tokens = node.sign_in_rp(http)
        query = {"id_token_hint": tokens["id_token"], "state": "s"}
        query.update({k: v for k, v in params.items() if k != "hint"})
        if "hint" in params:
            del query["id_token_hint"]
        answer = http.get(f"{node.url}/oauth/logout?{urlencode(query)}")
        assert answer.status_code == 400 and "Location" not in answer.headers
        assert why in answer.text
        assert http.get(f"{node.url}/api/v1/me").status_code == 200  # still signed in
        rp_bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert httpx.get(f"{node.url}/api/v1/me", headers=rp_bearer).status_code == 200


def test_without_a_hint_the_person_confirms(node: Node) -> None:
    with Api(node.url) as api:
        account = api.register()
    with httpx.Client(timeout=30) as http:
        sign_in(http, node.url, account.email, account.password)
        query = urlencode({"client_id": node.client["client_id"], "state": "z"})
        page = http.get(f"{node.url}/oauth/logout?{query}")
        assert page.status_code == 200 and "Sign out of Limen?" in page.text
        assert http.get(f"{node.url}/api/v1/me").status_code == 200  # a page is not a sign-out
        found = re.search(r'<form method="post" action="([^"]+)" class="actions"', page.text)
        action = found[1].replace("&amp;", "&")
        done = http.post(
            node.url + action,
            data={"csrf_token": csrf_from(page.text), "decision": "sign_out"},
        )
        assert done.status_code == 200 and "You are signed out" in done.text
        assert http.get(f"{node.url}/api/v1/me").status_code == 401
    assert parse_qs(urlsplit(action).query)["state"] == ["z"]
