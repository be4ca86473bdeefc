"""Decisions reach every process at once: key-ring news over Redis pub/sub, revocations through
the session record every verification reads."""

from __future__ import annotations

import time
from typing import Any

from webapp.identity import Credential
from webapp.identity.errors import InvalidToken
from webapp.jobs import enqueue_key_rotation
from webapp.models import User

from .conftest import JobsHarness


def _rejected(h: JobsHarness, token: str) -> str | None:
    try:
        h.identity.authenticate(Credential(token, "bearer"))
    except InvalidToken as exc:
        return exc.cause
    return None


def test_emergency_rotation_reaches_another_process_cache_at_once(make_harness: Any) -> None:
    a: JobsHarness = make_harness()
    # A second "process": its own app, ring cache and listener, on the same DB and Redis.
    b: JobsHarness = make_harness(
        database_url=a.app.extensions["limen.settings"].database_url,
        redis_url=a.redis_url,
    )
    b.clock.now = a.clock.now
    with a.app.app_context():
        user = a.user("pubsub@example.com")
        token = a.login(user).access_token
        user_id = user.id
    with b.app.app_context():
        assert _rejected(b, token) is None  # b has cached the ring with the old key
        listener = b.jobs
        listener.ensure_listener()
        deadline = time.monotonic() + 5
        while not b.app.extensions["limen.redis"].pubsub_numsub("limen:invalidate")[0][1]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    with a.app.app_context():
        started = time.monotonic()
        enqueue_key_rotation(a.jobs, now=True, actor="test")
        a.identity.db.commit()  # the test is the boundary: the rotation holds from here
    with b.app.app_context():
        while _rejected(b, token) is None:
            assert time.monotonic() - started < 2, "the news did not arrive"
            time.sleep(0.005)
        assert _rejected(b, token) == "unknown_kid"
        # b signs with the new key straight away, and a verifies it.
        fresh = b.login(b.identity.db.get(User, user_id)).access_token
    with a.app.app_context():
        assert _rejected(a, fresh) is None


def test_disabled_user_is_rejected_by_every_process(make_harness: Any) -> None:
    a: JobsHarness = make_harness()
    b: JobsHarness = make_harness(
        database_url=a.app.extensions["limen.settings"].database_url, redis_url=a.redis_url
    )
    b.clock.now = a.clock.now
    with a.app.app_context():
        user = a.user("disabled@example.com")
        tokens = [a.login(user).access_token for _ in range(3)]
        user.is_active = False
        a.identity.db.commit()
        assert a.identity.revocation.revoke_user(user.id, reason="user_disabled") == 3
    for h in (a, b):
        with h.app.app_context():
            assert {_rejected(h, t) for t in tokens} == {"revoked_session"}
