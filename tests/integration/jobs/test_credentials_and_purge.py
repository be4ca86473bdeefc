"""Scheduled credential rotation (API keys, client secrets) and purges, on a controlled clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.identity import Credential
from webapp.identity.delegation import OPERATOR, Holder
from webapp.identity.errors import InvalidToken, NotFound
from webapp.models import ApiKey, AuditEvent, AuthorizationCode, Session

from .conftest import JobsHarness

DAY = 86_400


def test_api_key_gets_a_successor_before_expiry_and_dies_after_grace(
    harness: JobsHarness,
) -> None:
    h = harness
    with h.app.app_context():
        ident = h.identity
        owner = h.user("keys@example.com")
        holder = Holder.roles_of(owner.role_names)
        issued = ident.api_keys.create(
            owner, "ci", ["profile"], h.clock() + timedelta(days=30), holder=holder
        )
        db.session.commit()
        old_key, key_id = issued.secret, issued.row.id
        rotation = ident.credential_rotation
        rotation.set_api_key_policy(owner.id, key_id, rotate_before_days=7, grace_seconds=DAY)
        db.session.commit()  # the test is the boundary of each unit of work

        h.clock.advance(22 * DAY)  # 8 days left: not yet
        assert h.run("credentials.maintain")["api_keys_rotated"] == []
        assert [e.key.id for e in rotation.upcoming_api_key_expiries(owner.id)] == [key_id]

        h.clock.advance(DAY + 1)  # 7 days left: the successor is made, twice-safe
        assert h.run("credentials.maintain")["api_keys_rotated"] == [key_id]
        assert h.run("credentials.maintain")["api_keys_rotated"] == []
        successor = db.session.scalar(select(ApiKey).where(ApiKey.rotated_from_id == key_id))
        assert successor is not None and successor.rotate_before_days == 7
        new_key = rotation.collect_api_key_secret(owner.id, successor.id, holder=holder)
        db.session.commit()
        with pytest.raises(NotFound):
            rotation.collect_api_key_secret(owner.id, successor.id, holder=holder)  # shown once

        assert ident.authenticate(Credential(old_key, "bearer")).api_key_id == key_id  # grace
        assert ident.authenticate(Credential(new_key, "bearer")).api_key_id == successor.id
        h.clock.advance(DAY)
        with pytest.raises(InvalidToken):
            ident.authenticate(Credential(old_key, "bearer"))
        assert ident.authenticate(Credential(new_key, "bearer")).sub == owner.id


def test_client_secret_rotates_on_schedule_and_old_secret_dies(harness: JobsHarness) -> None:
    h = harness
    with h.app.app_context():
        ident = h.identity
        registered = ident.clients.register(
            name="svc", grants=["client_credentials"], holder=OPERATOR
        )
        db.session.commit()
        client_id, old_secret = registered.row.client_id, registered.secret
        rotation = ident.credential_rotation
        rotation.set_client_secret_policy(client_id, rotation_days=90)
        db.session.commit()

        h.clock.advance(90 * DAY)
        assert h.run("credentials.maintain")["client_secrets_rotated"] == [client_id]
        assert h.run("credentials.maintain")["client_secrets_rotated"] == []
        new_secret = rotation.collect_client_secret(client_id, holder=OPERATOR)
        db.session.commit()
        client = ident.clients.require(client_id)
        assert ident.clients.check_secret(client, old_secret)  # the overlap (7 days)
        assert ident.clients.check_secret(client, new_secret)

        h.clock.advance(7 * DAY)
        assert h.run("credentials.maintain")["previous_client_secrets_cleared"] == 1
        client = ident.clients.require(client_id)
        assert not ident.clients.check_secret(client, old_secret)
        assert ident.clients.check_secret(client, new_secret)


def test_purge_removes_only_what_is_due_in_batches(make_harness: object) -> None:
    h: JobsHarness = make_harness(jobs={"purge_batch_size": 7, "audit_retention_days": 30})
    with h.app.app_context():
        user = h.user("purge@example.com")
        expired = [h.login(user).session_id for _ in range(10)]
        now = h.clock()
        for i in range(20):
            db.session.add(
                AuthorizationCode(
                    code_hash=f"{i:064d}",
                    client_id="limen-cli",
                    user_id=user.id,
                    redirect_uri="http://127.0.0.1/callback",
                    code_challenge="x" * 43,
                    auth_time=0,
                    expires_at=now + timedelta(seconds=60),
                )
            )
        db.session.commit()
        h.clock.advance(31 * DAY)  # sessions (30 days), codes and 30-day-old audit rows are due
        kept = h.login(user).session_id

        summary = h.run("purge")
        assert summary["sessions"] == 10 and summary["authorization_codes"] == 20
        assert summary["audit_events"] > 0
        remaining = set(db.session.scalars(select(Session.id)))
        assert remaining == {kept} and not remaining & set(expired)
        assert db.session.scalar(select(func.count()).select_from(AuthorizationCode)) == 0
        events = db.session.scalars(select(AuditEvent.event)).all()
        assert "audit.purged" in events and "session.created" in events  # the recent ones
        assert h.run("purge")["sessions"] == 0  # nothing left to do the second time
