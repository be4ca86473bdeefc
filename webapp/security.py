"""Security headers on every response, the one place a response's CSP may widen, and the
session cookie interface that opens Flask's session only for requests carrying the cookie."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, g
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action {form_action}; frame-ancestors 'none'"
)
# The CSP sources we build ourselves: scheme://host[:port], or a private-use scheme.
HOST_SOURCE = re.compile(r"https?://(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?")
SCHEME_SOURCE = re.compile(r"[a-z][a-z0-9+.-]*:")
NEVER = ("javascript", "data", "blob", "filesystem")
FORM_ACTION_KEY = "limen_csp_form_action"


def csp(form_action: tuple[str, ...] = ()) -> str:
    """The policy: same origin only, plus ``form_action`` sources for this response's forms."""
    return CSP.format(form_action=" ".join(("'self'", *form_action)))


def redirect_origin(uri: str) -> str | None:
    """The CSP source naming a redirect URI's origin, or None if it has none we can name
    safely. A private-use scheme (RFC 8252 §7.1) is named by its scheme alone."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        source = f"{scheme}:"
        return source if SCHEME_SOURCE.fullmatch(source) and scheme not in NEVER else None
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    host = f"[{host}]" if ":" in host else host
    source = f"{scheme}://{host}" + (f":{port}" if port is not None else "")
    return source if HOST_SOURCE.fullmatch(source) else None


def allow_form_action(source: str) -> None:
    """Let this response's forms — and the redirects that follow their submission, which
    Chromium checks against ``form-action`` too — reach ``source`` (from redirect_origin)."""
    sources: list[str] = g.setdefault(FORM_ACTION_KEY, [])
    if source not in sources:
        sources.append(source)


def static_headers(*, hsts: bool) -> tuple[tuple[str, str], ...]:
    """The headers every response carries, built once at start-up (the CSP is the default
    policy; a response that widened ``form-action`` gets its own, see ``allow_form_action``)."""
    headers = [
        ("Content-Security-Policy", csp()),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if hsts:
        headers.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
    return tuple(headers)


def init_app(app: Flask, *, hsts: bool) -> None:
    fixed = static_headers(hsts=hsts)
    names = tuple(name.lower() for name, _ in fixed)

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        # One pass over what the view set (a view may set its own CSP, e.g. a widened one),
        # then the rest in one extend: no per-header scan, no policy string per response.
        present = {key.lower() for key, _ in h.items()}
        widened = g.get(FORM_ACTION_KEY)
        if widened and "content-security-policy" not in present:
            h["Content-Security-Policy"] = csp(tuple(widened))
            present.add("content-security-policy")
        h.extend([pair for pair, name in zip(fixed, names, strict=True) if name not in present])
        return response


class LazySessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, unchanged for a request that carries the session
    cookie (the portal's sign-in and upstream flows). A request without it — every bearer,
    API-key and OAuth client call — gets an empty session without building a serializer or
    reading anything; the serializer itself is built once per secret, not per request.

    Nothing is dropped: a session written during such a request is saved as before, and a
    cookie that is present is verified exactly as Flask does."""

    def __init__(self) -> None:
        self._serializers: dict[Any, URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's serializer for the app's current secret (and fallbacks), built once."""
        fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or ()
        key = (app.secret_key, tuple(fallbacks))
        found = self._serializers.get(key)
        if found is None:
            built = super().get_signing_serializer(app)
            if built is None:
                return None
            self._serializers = {key: built}  # one secret in use: keep one serializer
            found = built
        return found

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class() if app.secret_key else None
        return super().open_session(app, request)
