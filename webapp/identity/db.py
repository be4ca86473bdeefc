"""Database helpers the services share, and the rule of who commits.

**The unit of work belongs to the boundary, not to the services.** A web request (see
``webapp/transactions.py``), a job (``webapp/jobs/tasks.py``), a command of ``limen-server`` and a
test are boundaries: they commit once, at the end. Services only ``flush()`` when they need a
row written for what they do next, and they never commit. What must happen only once the
change is durable (emptying verification caches, telling other processes, enqueueing a
delivery) is queued with :func:`after_commit`; a rollback discards the queue.

A refusal normally changes nothing: the web boundary rolls back every answer of 400 and above.
Some refusals are themselves facts to keep (a failed sign-in counted towards a lockout, a
refresh-token family revoked on reuse, a device client told to slow down): the service says so
with :func:`keep_on_refusal`, and the boundary commits that answer too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, event
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import scoped_session

log = logging.getLogger(__name__)

_EFFECTS = "limen.after_commit"
_KEEP = "limen.keep_on_refusal"
_UNDO = "limen.rollback_undo"

AnySession = DbSession | scoped_session[DbSession]


def execute_dml(db: DbSession, statement: Executable) -> CursorResult[Any]:
    """Run an UPDATE/DELETE and return a result whose ``rowcount`` can be trusted."""
    return cast(CursorResult[Any], db.execute(statement))


def _current(db: AnySession) -> DbSession:
    return db() if isinstance(db, scoped_session) else db


def after_commit(db: AnySession, effect: Callable[[], object], what: str) -> None:
    """Run ``effect`` once the session's current transaction commits; never if it rolls back.

    Effects run in the order they were queued. The change is already durable when they run,
    so an effect that fails is logged (``what`` names it) and the others still run.
    """
    _current(db).info.setdefault(_EFFECTS, []).append((what, effect))


def rollback_undo(db: AnySession, undo: Callable[[], object], what: str) -> None:
    """Run ``undo`` if the session's current transaction rolls back instead of committing:
    for what a service did outside the database (a Redis record, a process cache) that must
    not outlive rows that were never written."""
    _current(db).info.setdefault(_UNDO, []).append((what, undo))


def keep_on_refusal(db: AnySession) -> None:
    """Mark the current transaction as one to commit even though the answer is a refusal."""
    _current(db).info[_KEEP] = True


def kept_on_refusal(db: AnySession) -> bool:
    """Whether a service marked the current transaction with :func:`keep_on_refusal`."""
    return bool(_current(db).info.get(_KEEP))


@event.listens_for(DbSession, "after_commit")
def _run_effects(session: DbSession) -> None:
    if session.in_nested_transaction():  # a savepoint was released; the transaction goes on
        return
    session.info.pop(_KEEP, None)
    session.info.pop(_UNDO, None)
    _run(session.info.pop(_EFFECTS, []), "after-commit effect")


@event.listens_for(DbSession, "after_rollback")
def _drop_effects(session: DbSession) -> None:
    if session.in_nested_transaction():  # only a savepoint was rolled back
        return
    session.info.pop(_KEEP, None)
    session.info.pop(_EFFECTS, None)
    _run(session.info.pop(_UNDO, []), "undo after rollback")


def _run(effects: list[tuple[str, Callable[[], object]]], kind: str) -> None:
    for what, effect in effects:
        try:
            effect()
        except Exception:
            log.exception("%s failed: %s", kind, what)
