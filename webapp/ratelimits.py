"""Named rate limits and the keys they count by: per IP, per account, per client.

Counters live in Redis (flask-limiter), so a limit holds across every worker and node. When
Redis is unreachable the limiter raises and the request fails closed with a 503.
"""

from __future__ import annotations

import base64
import hashlib

from flask import request

from webapp.identity.errors import IdentityError
from webapp.identity.oauth_codes import normalize_user_code
from webapp.problems import Problem


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
