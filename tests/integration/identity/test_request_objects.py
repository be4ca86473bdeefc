"""identity.request_objects: a client's request-object keys stored on both databases, and
pushed authorization requests in Redis: bound to their client, used once, short-lived."""

from __future__ import annotations

import hashlib
import time

from joserfc.jwk import ECKey
from sqlalchemy import select

from webapp.identity.delegation import OPERATOR
from webapp.identity.request_objects import PUSHED_TTL, REQUEST_URI_PREFIX, SIGN_IN_WINDOW
from webapp.models import OAuthClient

from .conftest import Core

PARAMS = {"response_type": "code", "state": "s", "code_challenge": "c" * 43}


def test_registered_keys_and_require_par_are_stored(core: Core) -> None:
    key = ECKey.generate_key("P-256").as_dict(private=False)
    registered = core.identity.clients.register(
        name="jar",
        grants=["authorization_code"],
        redirect_uris=["https://app.example.com/cb"],
        jwks={"keys": [key]},
        require_pushed_requests=True,
        holder=OPERATOR,
    )
    core.db.commit()
    core.db.expire_all()
    row = core.db.scalar(
        select(OAuthClient).where(OAuthClient.client_id == registered.row.client_id)
    )
    assert row is not None and row.require_pushed_authorization_requests is True
    assert row.jwks is not None and row.jwks["keys"][0]["x"] == key["x"]


def test_a_client_without_the_flag_does_not_require_par(core: Core) -> None:
    registered = core.identity.clients.register(
        name="plain", grants=["client_credentials"], holder=OPERATOR
    )
    core.db.commit()
    assert registered.row.require_pushed_authorization_requests is False
    assert registered.row.jwks is None


def test_a_pushed_request_is_opened_by_its_client_and_claimed_once(core: Core) -> None:
    pushed = core.identity.pushed_requests
    request_uri, expires_in = pushed.push("client-a", PARAMS)
    assert request_uri.startswith(REQUEST_URI_PREFIX) and expires_in == PUSHED_TTL
    assert pushed.open(request_uri, "client-b") is None  # another client's
    assert pushed.open(request_uri, "client-a") == PARAMS
    key = "limen:par:" + hashlib.sha256(request_uri.encode()).hexdigest()
    assert PUSHED_TTL < core.redis.ttl(key) <= SIGN_IN_WINDOW  # time to sign in
    assert pushed.open(request_uri, "client-a") == PARAMS  # the consent page's POST
    assert pushed.claim(request_uri, "client-a") is True
    assert pushed.claim(request_uri, "client-a") is False
    assert pushed.open(request_uri, "client-a") is None


def test_an_expired_or_unknown_request_uri_opens_nothing(core: Core) -> None:
    pushed = core.identity.pushed_requests
    request_uri, _ = pushed.push("client-a", PARAMS)
    core.redis.pexpire("limen:par:" + hashlib.sha256(request_uri.encode()).hexdigest(), 1)
    time.sleep(0.05)
    assert pushed.open(request_uri, "client-a") is None
    assert pushed.claim(request_uri, "client-a") is False
    assert pushed.open(REQUEST_URI_PREFIX + "never", "client-a") is None
    assert pushed.open("https://rp.example/r", "client-a") is None
