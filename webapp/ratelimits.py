"""Named rate limits and the keys they count by: per IP, per account, per client.

Counters live in Redis (flask-limiter), so a limit holds across every worker and node. When
Redis is unreachable the limiter raises and the request fails closed with a 503.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter

from webapp import logs
from webapp.identity.errors import IdentityError
from webapp.identity.oauth_codes import normalize_user_code
from webapp.problems import Problem, prefers_html


def _digest(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:24]


def login_account() -> str:
    """The account a sign-in names (JSON or form), hashed: its own budget across all IPs."""
    body = request.get_json(silent=True) if request.is_json else None
    email = body.get("email") if isinstance(body, dict) else request.form.get("email")
    return "account:" + _digest(email if isinstance(email, str) else "")


def token_client() -> str:
    """The client a token request authenticates as (Basic auth or client_id)."""
    auth = request.headers.get("Authorization", "")
    client_id = request.form.get("client_id", "")
    if auth.lower().startswith("basic "):
        try:
            client_id = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            client_id = "malformed"
    return "client:" + _digest(client_id)


# -- device user codes (RFC 8628 §5.1): every check of a code counts, per address (the default
# key), per signed-in account and per code, so neither many addresses nor many accounts make
# guessing cheaper.
def _user_code() -> str | None:
    return normalize_user_code((request.values.get("user_code") or "")[:32])


def checks_no_user_code() -> bool:
    """The empty entry form checks nothing; every other request to /device does."""
    return request.method == "GET" and not request.args.get("user_code")


def checks_no_real_user_code() -> bool:
    """A malformed code cannot match anything, so it spends no code's budget."""
    return _user_code() is None


def device_user_code() -> str:
    """The code being checked, normalised (``bcdf ghjk`` is ``BCDF-GHJK``)."""
    return "user-code:" + (_user_code() or "")


def device_account() -> str:
    """The signed-in account (checking codes, asking for an address change); else the
    client's address."""
    from webapp.http import current_principal

    try:
        principal = current_principal(optional=True)
    except (IdentityError, Problem):  # no usable credential: the page will say so
        principal = None
    return "subject:" + (principal.sub if principal else str(request.remote_addr))


def checked_only_where_declared(app: Flask, limiter: Limiter) -> None:
    """Drop flask-limiter's app-wide hooks: every limit Limen has is declared on its view
    (``@limiter.limit`` on sign-in, registration, token, device entry, MFA), and the decorator
    checks it when that view runs. The app-wide ``before_request`` would only look for default
    or blueprint limits, which Limen never sets, on every request of every other route; the
    ``after_request`` adds headers Limen turns off (RATELIMIT_HEADERS_ENABLED) and the
    ``teardown`` resets a context that lives on the request and ends with it.

    Where the same protection now lives: in each decorated view (flask-limiter's decorator
    calls the limit check before the view, in_middleware=False). ``tests/e2e/test_rate_limits``
    proves every limited endpoint still answers 429."""
    if app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION"):
        raise RuntimeError("default or application-wide limits need flask-limiter's own hooks")

    def ours(hook: object) -> bool:
        target = hook.args[0] if isinstance(hook, partial) and hook.args else hook
        return getattr(target, "__self__", target) is limiter

    hook_lists: list[list[Any]] = [
        app.before_request_funcs.get(None, []),
        app.after_request_funcs.get(None, []),
        app.teardown_request_funcs.get(None, []),
    ]
    for hooks in hook_lists:
        hooks[:] = [hook for hook in hooks if not ours(hook)]


class FloodGate:
    """Refuses before Flask a POST that this process already saw the limiter refuse for the
    same address, method and path, until that limit's window ends.

    A sign-in flood from one address otherwise costs a full Flask request (routing, hooks, a
    Redis round trip in the limiter) per refusal. After the limiter breaches a per-address
    limit (its key is the client address), every further request with that key would be
    refused until ``reset_at`` anyway — fixed and moving windows alike stay exceeded until
    then — so the gate answers those with the limiter's own 429 (status, headers, body;
    ``Retry-After`` recomputed; no cookie or request id replayed) from memory. Limits keyed
    by account, client or code are never gated (another account from the same address is
    still decided by the limiter), and neither is a GET (some limits exempt some GETs).
    Each gated refusal still gets its request log line (errors are never sampled away).

    The gate sits inside ProxyFix, so it sees the same client address the limiter keyed.
    A browser and a program get the refusal each asked for (a page or a problem document):
    the gate remembers one per kind."""

    MAX_ENTRIES = 10_000

    def __init__(self, wsgi_app: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.wsgi_app = wsgi_app
        self._clock = clock
        self._closed: dict[
            tuple[str, str, bool], tuple[float, str, list[tuple[str, str]], bytes]
        ] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self._closed and environ.get("REQUEST_METHOD") == "POST":
            key = (
                environ.get("PATH_INFO", ""),
                environ.get("REMOTE_ADDR") or "",
                prefers_html(environ.get("HTTP_ACCEPT")),
            )
            found = self._closed.get(key)
            if found is not None:
                until, status, headers, body = found
                left = until - self._clock()
                if left > 0:
                    wait = str(max(1, int(left)))  # whole seconds, as the limiter says them
                    request_id = logs.refusal_line(environ, 429, key[1])
                    start_response(
                        status, [*headers, ("Retry-After", wait), ("X-Request-ID", request_id)]
                    )
                    return [body]
                self._closed.pop(key, None)
        return self.wsgi_app(environ, start_response)

    def learn(self, response: Response, limits: list[Any]) -> None:
        """After a 429: close the gate for this address and path if a per-address limit was
        the one breached (``limits``: flask-limiter's limits of this request)."""
        if response.status_code != 429 or request.method != "POST":
            return
        address = request.remote_addr
        ends = [lim.reset_at for lim in limits if lim.breached and address in lim.request_args]
        wait = max(ends, default=0.0) - time.time()
        if not address or wait <= 0:
            return
        skip = {"retry-after", "set-cookie", "x-request-id", "content-length"}
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in skip]
        body = response.get_data()
        headers.append(("Content-Length", str(len(body))))
        if len(self._closed) >= self.MAX_ENTRIES:
            now = self._clock()
            self._closed = {k: v for k, v in self._closed.items() if v[0] > now}
            if len(self._closed) >= self.MAX_ENTRIES:
                return  # a flood from that many addresses at once: the limiter still decides
        key = (
            request.environ.get("PATH_INFO", ""),
            address,
            prefers_html(request.headers.get("Accept")),
        )
        self._closed[key] = (self._clock() + wait, response.status, headers, body)


def install_flood_gate(app: Flask, limiter: Limiter) -> FloodGate:
    """Wrap the app in a FloodGate (call before ProxyFix wraps it) that learns from the
    limiter's refusals."""
    gate = FloodGate(app.wsgi_app)
    app.wsgi_app = gate  # type: ignore[method-assign]

    @app.after_request
    def _learn(response: Response) -> Response:
        if response.status_code == 429:
            gate.learn(response, limiter.current_limits)
        return response

    return gate
