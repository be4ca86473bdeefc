"""Named rate limits and the keys they count by: per IP, per account, per client.

Counters live in Redis (flask-limiter), so a limit holds across every worker and node. When
Redis is unreachable the limiter raises and the request fails closed with a 503.
"""

from __future__ import annotations

import base64
import hashlib

from flask import request


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
