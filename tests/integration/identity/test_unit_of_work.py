"""Who commits: services flush and queue their after-commit effects; the boundary commits.

On the real databases (SQLite and PostgreSQL): effects run only once the change is durable,
never after a rollback; savepoints neither run nor drop them; refusals that are facts are
marked to be kept; and the web boundary turns a failed commit into a clean problem answer
with nothing written.
"""

from __future__ import annotations

import secrets
import warnings
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from webapp import create_app
from webapp.extensions import db
from webapp.identity.db import after_commit, kept_on_refusal, rollback_undo
from webapp.identity.errors import InvalidCredentials
from webapp.models import AuditEvent, User

from .conftest import META, Core, Migrated


def test_effects_run_after_commit_only(core: Core) -> None:
    ran: list[str] = []
    core.user()  # commits; the session is idle again
    core.identity.audit.record("test.effect")
    after_commit(core.db, lambda: ran.append("outer"), "outer")
    with core.db.begin_nested():
        after_commit(core.db, lambda: ran.append("inner"), "inner")
    assert ran == []  # releasing a savepoint is not a commit
    with pytest.raises(ValueError), core.db.begin_nested():
        raise ValueError("a savepoint rolled back")
    assert ran == []
    core.db.commit()
    assert ran == ["outer", "inner"]

    core.identity.audit.record("test.effect")
    after_commit(core.db, lambda: ran.append("never"), "never")
    core.db.rollback()
    core.identity.audit.record("test.effect")
    core.db.commit()  # a later commit does not run what the rollback dropped
    assert ran == ["outer", "inner"]


def test_undo_runs_on_rollback_only(core: Core) -> None:
    undone: list[str] = []
    core.identity.audit.record("test.undo")
    rollback_undo(core.db, lambda: undone.append("first"), "first")
    core.db.commit()
    assert undone == []
    core.identity.audit.record("test.undo")
    rollback_undo(core.db, lambda: undone.append("second"), "second")
    core.db.rollback()
    assert undone == ["second"]


def test_an_effect_that_fails_does_not_stop_the_others(core: Core) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("the broadcast could not be sent")

    core.identity.audit.record("test.effect")
    after_commit(core.db, broken, "broken")
    after_commit(core.db, lambda: ran.append("next"), "next")
    core.db.commit()
    assert ran == ["next"]


def test_a_failed_sign_in_is_a_refusal_to_keep(core: Core) -> None:
    user = core.user()
    assert not kept_on_refusal(core.db)
    with pytest.raises(InvalidCredentials):
        core.identity.accounts.verify_login(user.email, "not the password", META)
    assert kept_on_refusal(core.db)
    core.db.commit()
    assert not kept_on_refusal(core.db)  # the mark belongs to one transaction
    core.db.expire_all()
    assert core.db.get(User, user.id).failed_login_count == 1  # type: ignore[union-attr]


def test_a_refused_registration_race_leaves_the_transaction_usable(core: Core) -> None:
    """The duplicate insert is undone by its savepoint, not by a rollback of everything."""
    user = core.user()
    core.identity.audit.record("test.before_the_race")
    from webapp.identity.errors import Conflict

    with pytest.raises(Conflict):
        core.identity.accounts.create_user(user.email.upper(), "another long password")
    core.db.commit()  # what came before the refused insert is still there
    found = core.db.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.event == "test.before_the_race")
    )
    assert found and found >= 1


@pytest.fixture
def web(migrated: Migrated) -> Any:
    """The real app on this module's database, with one route that writes a row that cannot
    be committed (a duplicate primary key), to see what the boundary answers."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        app: Flask = create_app(migrated.settings)

    taken = secrets.randbelow(2**40) + 2**41  # an id no sequence reaches here

    @app.post("/__test/duplicate")
    def duplicate() -> tuple[str, int]:
        db.session.add(AuditEvent(id=taken, occurred_at=_now(), event="test.first"))
        db.session.add(AuditEvent(id=taken, occurred_at=_now(), event="test.second"))
        return "written?", 200

    @app.post("/__test/refused")
    def refused() -> tuple[str, int]:
        db.session.add(AuditEvent(occurred_at=_now(), event=f"test.refused.{taken}"))
        return "no", 400

    yield app.test_client(), taken
    app.extensions["limen.jobs"].close()
    app.extensions["limen.redis"].close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _now() -> Any:
    from webapp.models import utcnow

    return utcnow()


def test_a_failed_commit_answers_a_problem_and_writes_nothing(web: Any, core: Core) -> None:
    client, taken = web
    response = client.post("/__test/duplicate")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "nothing was changed" in response.get_json()["detail"]
    assert core.db.get(AuditEvent, taken) is None


def test_a_refusal_writes_nothing(web: Any, migrated: Migrated) -> None:
    client, taken = web
    assert client.post("/__test/refused").status_code == 400
    with DbSession(migrated.engine) as fresh:
        count = fresh.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.event == f"test.refused.{taken}")
        )
    assert count == 0
