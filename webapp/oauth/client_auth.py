"""Client authentication methods that replace Authlib's where its own would crash."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from authlib.oauth2.rfc6749.errors import InvalidClientError


def authenticate_client_secret_basic(query: Callable[[str], Any], request: Any) -> Any:
    """client_secret_basic (RFC 6749 §2.3.1): credentials that do not decode (not base64, not
    UTF-8) are a failed authentication (401 invalid_client), not a crash; otherwise Authlib's
    rules: an unknown client is refused, a wrong secret lets the next method try."""
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    client_id, secret = unquote(client_id), unquote(secret)
    if not (sep and client_id and secret):
        return None
    client = query(client_id)
    if client is None:
        raise InvalidClientError(status_code=401)
    return client if client.check_client_secret(secret) else None
