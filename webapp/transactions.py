"""The web request as a unit of work: it commits once, when its answer is ready.

Services flush and never commit (``webapp/identity/db.py`` has the rule); views call services
and never commit either. Here the answer decides: a success (below 400) commits; a refusal
rolls back, unless a service marked what it recorded as a fact to keep (a failed sign-in, a
revocation); an error (500 and above) always rolls back. The commit runs the after-commit
effects (cache invalidation broadcasts, deliveries) before the answer leaves, so a change is
in force everywhere by the time its caller hears about it.
"""

from __future__ import annotations

from typing import cast

import structlog
from flask import Flask, Response, request
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session as DbSession

from webapp.extensions import db
from webapp.identity.db import kept_on_refusal
from webapp.problems import Problem, problem_response

log = structlog.get_logger("limen.http")


def end_unit_of_work(response: Response) -> Response:
    """Commit or roll back the request's transaction according to its answer."""
    if not db.session.registry.has():
        # The request never opened a database session (/healthz, a cached verification, a
        # token from cached clients): there is no transaction and no after-commit effect to
        # run (effects live on a session), so none is built just to commit nothing.
        return response
    session = cast(DbSession, db.session)
    status = response.status_code
    if status >= 500 or (status >= 400 and not kept_on_refusal(session)):
        session.rollback()
        return response
    try:
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        log.error("commit_failed", path=request.path, error=type(exc).__name__)
        if isinstance(exc, OperationalError):
            return problem_response(
                Problem(
                    503,
                    "service-unavailable",
                    "Temporarily unavailable",
                    "Limen could not save this change and nothing was changed; try again in a "
                    "few seconds.",
                    {"Retry-After": "5"},
                )
            )
        return problem_response(
            Problem(
                500,
                "internal-error",
                "Internal error",
                "Limen could not save this change and nothing was changed. Quote the request "
                "id from the X-Request-ID header when you report it.",
            )
        )
    return response


def init_app(app: Flask) -> None:
    """Register the boundary; call it after the logging hooks so they see its final answer
    (Flask runs ``after_request`` functions in reverse order of registration)."""
    app.after_request(end_unit_of_work)
