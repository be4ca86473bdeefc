"""Error handlers: problem+json for JSON blueprints, a page for the portal.

A browser that opens a JSON URL by hand (a mistyped link, a bookmark of an API path) asks for
``text/html`` first; it gets the same status, headers and words as a readable page. API
clients (``Accept: application/json``, ``*/*`` or nothing) keep the problem document.
"""

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
from webapp.problems import (
    Problem,
    from_http_exception,
    from_identity_error,
    prefers_html,
    problem_response,
)

log = structlog.get_logger("limen.errors")
JSON_PREFIXES = ("/api/", "/auth/", "/oauth/", "/.well-known/", "/access/")


def wants_html() -> bool:
    """Whether the client prefers an HTML page over a problem document (a browser navigating)."""
    return prefers_html(request.headers.get("Accept"))


def error_page(
    status: int,
    title: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """The portal's message page for a failure, never cached."""
    body = render_template("message.html", title=title, message=message, status=status)
    response = Response(body, status=status, headers=headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def answer(p: Problem, page_detail: str | None = None) -> Response:
    """A problem document, or the same failure as a page for a browser that asked for one
    (``page_detail``: words for a person where the problem's are meant for a program)."""
    if wants_html():
        title = PAGE_TITLES.get(p.status, p.title)
        return error_page(p.status, title, page_detail or p.detail, p.headers)
    return problem_response(p)


def _http_answer(exc: HTTPException) -> Response:
    return answer(from_http_exception(exc, _max_body()), PAGE_DETAILS.get(exc.code or 500))


PAGE_DETAILS = {
    404: "There is nothing at this address. Check the link, or go back to the start page.",
    405: "This address cannot be used that way. Go back and use the page's own buttons.",
}
PAGE_TITLES = {
    403: "You cannot open this page",
    404: "Page not found",
    429: "Slow down",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def _max_body() -> int:
    from webapp.http import settings

    return settings().max_body_bytes


def _dependency_down(exc: Exception) -> None:
    """What every 'database or Redis unreachable' answer does first: drop the half-done work."""
    db.session.rollback()
    log.error("dependency_unavailable", error=type(exc).__name__)


def _unavailable(exc: Exception) -> Response:
    _dependency_down(exc)
    return answer(
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
        return answer(exc)

    @bp.errorhandler(IdentityError)
    def _identity(exc: IdentityError) -> Response:
        return answer(from_identity_error(exc))

    @bp.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Response:
        return answer(
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
            return answer(_rate_limited())
        return _http_answer(exc)

    @bp.errorhandler(redis.exceptions.ConnectionError)
    @bp.errorhandler(redis.exceptions.TimeoutError)
    @bp.errorhandler(OperationalError)
    def _down(exc: Exception) -> Response:
        return _unavailable(exc)

    @bp.errorhandler(KeyRingError)
    def _keyring(exc: KeyRingError) -> Response:
        log.error("keyring_error", error=str(exc))
        return answer(
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

    page = error_page

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
        p = from_http_exception(exc, _max_body())
        status = exc.code or 500
        detail = PAGE_DETAILS.get(status, p.detail)
        return page(status, PAGE_TITLES.get(status, exc.name), detail, p.headers)

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
            return _http_answer(exc)
        db.session.rollback()
        log.exception("unhandled_error", path=request.path)
        return answer(
            Problem(
                500,
                "internal-error",
                "Internal error",
                "Something went wrong on our side and nothing was changed. Quote the request id "
                "from the X-Request-ID header when you report it.",
            )
        )
