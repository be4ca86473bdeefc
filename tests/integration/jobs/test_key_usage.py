"""API keys' last use: noted in Redis by verification (no database write), written to the
database by the api_keys.flush_usage job — newer only, twice-safe, and a half-done run is
finished by the next one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.identity import Credential
from webapp.identity.delegation import Holder
from webapp.identity.key_usage import FLUSHING, PENDING
from webapp.models import ApiKey

from .conftest import JobsHarness


def stored(key_id: str):
    db.session.rollback()  # read what is committed, not this session's memory
    return db.session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key_id))


def new_key(h: JobsHarness, email: str) -> tuple[str, str]:
    owner = h.user(email)
    issued = h.identity.api_keys.create(
        owner, "ci", ["profile"], None, holder=Holder.roles_of(owner.role_names)
    )
    db.session.commit()
    return issued.secret, issued.row.id


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_verification_notes_the_use_and_the_job_writes_it(make_harness, backend) -> None:
    h = make_harness(backend)
    with h.app.app_context():
        secret, key_id = new_key(h, "usage@example.com")
        redis = h.app.extensions["limen.redis"]
        used_at = h.clock()
        assert h.identity.authenticate(Credential(secret, "bearer")).api_key_id == key_id
        assert stored(key_id) is None  # verification wrote nothing to the database
        assert key_id in h.identity.api_keys.usage.pending()

        assert h.run("api_keys.flush_usage") == {"keys_updated": 1}
        assert stored(key_id) == used_at
        assert not redis.exists(PENDING) and not list(redis.scan_iter(FLUSHING + "*"))
        assert h.run("api_keys.flush_usage") == {"keys_updated": 0}  # nothing left: no-op


def test_an_older_note_never_overwrites_a_newer_time(harness: JobsHarness) -> None:
    h = harness
    with h.app.app_context():
        secret, key_id = new_key(h, "newer@example.com")
        h.identity.authenticate(Credential(secret, "bearer"))
        h.run("api_keys.flush_usage")
        newest = stored(key_id)
        h.identity.api_keys.usage.note(key_id, newest - timedelta(minutes=5))  # a late note
        assert h.run("api_keys.flush_usage") == {"keys_updated": 0}
        assert stored(key_id) == newest


def test_a_batch_left_by_a_dead_run_is_finished_by_the_next(harness: JobsHarness) -> None:
    h = harness
    with h.app.app_context():
        secret, key_id = new_key(h, "crash@example.com")
        h.identity.authenticate(Credential(secret, "bearer"))
        redis = h.app.extensions["limen.redis"]
        redis.rename(PENDING, FLUSHING + "deadrun")  # moved aside, then the job died
        assert stored(key_id) is None
        assert h.run("api_keys.flush_usage") == {"keys_updated": 1}
        assert stored(key_id) is not None and not redis.exists(FLUSHING + "deadrun")


def test_a_recent_use_is_not_noted_again_within_the_minute(harness: JobsHarness) -> None:
    h = harness
    with h.app.app_context():
        secret, key_id = new_key(h, "quiet@example.com")
        h.identity.authenticate(Credential(secret, "bearer"))
        h.run("api_keys.flush_usage")
        h.clock.advance(30)
        h.identity.authenticate(Credential(secret, "bearer"))
        assert h.identity.api_keys.usage.pending() == {}
        h.clock.advance(31)
        h.identity.authenticate(Credential(secret, "bearer"))
        assert set(h.identity.api_keys.usage.pending()) == {key_id}
