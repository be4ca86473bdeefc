"""Error handlers: problem+json for JSON blueprints; decided per blueprint, not by Accept."""

from __future__ import annotations

import time

import redis
import structlog
from flask import Blueprint, Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from webapp.extensions import db, limiter
from webapp.identity.errors import IdentityError
from webapp.identity.signing_keys import KeyRingError
from webapp.problems import Problem, from_http_exception, from_identity_error, problem_response

log = structlog.get_logger("limen.errors")
JSON_PREFIXES = ("/api/", "/auth/", "/oauth/", "/.well-known/", "/access/")


def _max_body() -> int:
    from webapp.http import settings

    return settings().max_body_bytes


def _dependency_down(exc: Exception) -> None:
    """What every 'database or Redis unreachable' answer does first: drop the half-done work."""
    db.session.rollback()
    log.error("dependency_unavailable", error=type(exc).__name__)


def _unavailable(exc: Exception) -> Response:
    _dependency_down(exc)
    return problem_response(
        Problem(
            503,
            "service-unavailable",
            "Service unavailable",
            "A backing service (database or Redis) is unreachable; nothing was changed. "
            "Retry shortly.",
            {"Retry-After": "5"},
        )
    )


def _rate_limited() -> Problem:
    current = limiter.current_limit
    wait = max(1, int(current.reset_at - time.time())) if current else 60
    return Problem(
        429,
        "rate-limited",
        "Too many requests",
        f"Too many requests from you; wait {wait} s before trying again.",
        {"Retry-After": str(wait)},
        retry_after=wait,
    )


def register_json_errors(bp: Blueprint | Flask) -> None:
    """Every failure inside ``bp`` answers as an RFC 9457 problem document."""

    @bp.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return problem_response(exc)

    @bp.errorhandler(IdentityError)
    def _identity(exc: IdentityError) -> Response:
        return problem_response(from_identity_error(exc))

    @bp.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Response:
        return problem_response(
            Problem(
                403,
                "csrf-failed",
                "CSRF check failed",
                "Cookie-authenticated writes need the X-CSRFToken header; get a token from "
                "GET /auth/csrf (or the login response) and send it back.",
            )
        )

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        if exc.code == 429:
            return problem_response(_rate_limited())
        return problem_response(from_http_exception(exc, _max_body()))

    @bp.errorhandler(redis.exceptions.ConnectionError)
    @bp.errorhandler(redis.exceptions.TimeoutError)
    @bp.errorhandler(OperationalError)
    def _down(exc: Exception) -> Response:
        return _unavailable(exc)

    @bp.errorhandler(KeyRingError)
    def _keyring(exc: KeyRingError) -> Response:
        log.error("keyring_error", error=str(exc))
        return problem_response(
            Problem(
                503,
                "signing-unavailable",
                "Signing unavailable",
                "The server cannot sign tokens right now; an operator should run "
                "`limen-server check`.",
                {"Retry-After": "30"},
            )
        )


def register_html_errors(bp: Blueprint) -> None:
    """Portal pages answer errors with a page a person can act on."""

    def page(status: int, title: str, message: str, headers: dict[str, str] | None = None):
        body = render_template("message.html", title=title, message=message)
        return Response(body, status=status, headers=headers or {})

    @bp.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return page(exc.status, exc.title, exc.detail, exc.headers)

    @bp.errorhandler(IdentityError)
    def _identity(exc: IdentityError) -> Response:
        p = from_identity_error(exc)
        return page(p.status, p.title, p.detail, p.headers)

    @bp.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Response:
        return page(
            400,
            "This form has expired",
            "The page was open too long or came from another site. Go back, reload "
            "the page and try again.",
        )

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        if exc.code == 429:
            p = _rate_limited()
            return page(429, "Slow down", p.detail, p.headers)
        return page(exc.code or 500, exc.name, exc.description or exc.name)

    @bp.errorhandler(redis.exceptions.ConnectionError)
    @bp.errorhandler(redis.exceptions.TimeoutError)
    @bp.errorhandler(OperationalError)
    def _down(exc: Exception) -> Response:
        _dependency_down(exc)
        return page(
            503,
            "Temporarily unavailable",
            "Limen cannot reach one of its services right now. Nothing was changed; "
            "try again in a few seconds.",
            {"Retry-After": "5"},
        )


def register_app_errors(app: Flask) -> None:
    """Errors raised outside any blueprint view (unknown URL, body too large before routing)."""
    register_json_errors(app)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return problem_response(from_http_exception(exc, _max_body()))
        db.session.rollback()
        log.exception("unhandled_error", path=request.path)
        return problem_response(
            Problem(
                500,
                "internal-error",
                "Internal error",
                "Something went wrong on our side and nothing was changed. Quote the request id "
                "from the X-Request-ID header when you report it.",
            )
        )
