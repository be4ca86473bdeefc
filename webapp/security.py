"""Security headers on every response, and the one place a response's CSP may widen."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, Response, g

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


def init_app(app: Flask, *, hsts: bool) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        h.setdefault("Content-Security-Policy", csp(tuple(g.get(FORM_ACTION_KEY, ()))))
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if hsts:
            h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        return response
