"""Input no Limen field accepts, refused before any view sees it, in the endpoint's format.

A NUL character is never part of an email, a client id, a code, a nonce or a name, and
PostgreSQL refuses it in text: without this, ``client_id=%00`` or ``nonce=%00`` would reach a
query and fail as a 500. JSON bodies are covered by ``http.parse_body``; this
covers the path, the query string and form bodies (OAuth and the portal).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import BadHost

from webapp.problems import Problem, problem_response

DETAIL = "The request contains a NUL character (%00), which no field accepts; remove it."
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def has_nul() -> bool:
    if "\x00" in request.path or b"%00" in request.query_string:
        return True
    if request.mimetype in FORM_TYPES:
        body = request.get_data(cache=True)
        return b"%00" in body or b"\x00" in body
    return False


def refuse_nul() -> Response | tuple[Response | str, int] | None:
    if not has_nul():
        return None
    if request.endpoint == "oauth.authorize":
        page = render_template(
            "message.html", title="This sign-in link is not valid", message=DETAIL
        )
        return page, 400
    if request.blueprint == "oauth":  # RFC 6749 §5.2 error body
        return jsonify({"error": "invalid_request", "error_description": DETAIL}), 400
    raise Problem(400, "malformed-request", "Malformed request", DETAIL)


def bad_host(exc: BadHost) -> Response | tuple[Response, int]:
    """A Host header that is not a host name, refused before routing: under /oauth/ still
    answered as an OAuth error (RFC 6749 §5.2), elsewhere as a problem document."""
    detail = "The Host header is not a valid host name; send the issuer's host."
    if request.path.startswith("/oauth/") and request.path != "/oauth/authorize":
        return jsonify({"error": "invalid_request", "error_description": detail}), 400
    return problem_response(Problem(400, "bad-host", "Bad Host header", detail))


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul)
    app.register_error_handler(BadHost, bad_host)


class HeadAsGet:
    """WSGI: HEAD is answered exactly as GET is, without the body (RFC 9110 §9.3.2).

    Views that branch on ``request.method == "GET"`` (a form page that also takes its POST)
    would otherwise treat a HEAD as the form's submission: ``HEAD /login`` answered 401."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("REQUEST_METHOD") != "HEAD":
            return self.wsgi_app(environ, start_response)
        environ["REQUEST_METHOD"] = "GET"
        body = self.wsgi_app(environ, start_response)
        close = getattr(body, "close", None)
        if close is not None:
            close()
        return []
