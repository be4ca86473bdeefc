"""Steps that may leave Limen's origin: always a top-level navigation, never an XHR.

A sign-in or consent that finishes an authorization request ends at the client's redirect
URI, and an upstream sign-in starts at the provider: htmx must not follow those redirects
(CSP ``connect-src`` forbids it, rightly), and the page's ``form-action`` must name the one
origin its form's submission is allowed to end at.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Response, make_response, redirect, url_for

from webapp.extensions import identity
from webapp.http import is_htmx
from webapp.identity.clients import redirect_uri_matches
from webapp.security import allow_form_action, redirect_origin


def navigate(location: str, status: int = 303) -> Response:
    """A redirect; for an htmx request ``HX-Redirect``, so the browser itself navigates."""
    if is_htmx():
        return Response("", 200, {"HX-Redirect": location})
    return make_response(redirect(location, status))


def top_level(response: Response) -> Response:
    """``response`` as a top-level navigation: an htmx request gets its 3xx as HX-Redirect."""
    location = response.headers.get("Location")
    if not is_htmx() or location is None or not 300 <= response.status_code < 400:
        return response
    answer = navigate(location)
    for cookie in response.headers.getlist("Set-Cookie"):
        answer.headers.add("Set-Cookie", cookie)
    return answer


def top_level_view(view: Callable[..., Any]) -> Callable[..., Response]:
    """A view whose redirects are always top-level navigations (see ``top_level``)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        return top_level(make_response(view(*args, **kwargs)))

    return wrapper


def pending_redirect_origin(next_path: str) -> str | None:
    """Where a sign-in that continues to ``next_path`` ends, when that is an authorization
    request: its redirect URI's origin, if the URI is registered for the client (the same
    rule /oauth/authorize applies before it redirects anywhere)."""
    parts = urlsplit(next_path)
    if parts.path != url_for("oauth.authorize"):
        return None
    query = dict(parse_qsl(parts.query))
    client_id = query.get("client_id", "")
    client = identity().clients.cached(client_id) if 0 < len(client_id) <= 128 else None
    if client is None or not client.redirect_uris:
        return None
    uri = query.get("redirect_uri") or client.redirect_uris[0]
    if not redirect_uri_matches(client.redirect_uris, uri, public=client.is_public):
        return None
    return redirect_origin(uri)


def allow_pending_redirect(next_path: str) -> None:
    """On a sign-in page: let its forms end at the pending authorization's client."""
    origin = pending_redirect_origin(next_path)
    if origin is not None:
        allow_form_action(origin)
