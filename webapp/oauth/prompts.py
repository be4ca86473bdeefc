"""When the authorize endpoint needs the person to sign in (again): OIDC Core §3.1.2.1.

``prompt=login`` and an exceeded ``max_age`` ask for a fresh sign-in even with a live
session; ``acr_values`` naming two factors asks for the second factor (a fresh sign-in with
it) from a person who has one. The decision reads the session's authentication context
(``identity.auth_context``); ``prompt=none`` turns any of these into ``login_required``.

A fresh sign-in sends the browser to the sign-in page with ``next`` = this request, marked
``limen_signed_in_after=<now>`` and without ``prompt=login``: a session that began after the
mark is the fresh sign-in asked for, so the request goes on instead of asking again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from authlib.oauth2.rfc6749.errors import InvalidRequestError

from webapp.browser import FRESH_SIGN_IN
from webapp.identity.auth_context import AuthContext

MARK_WINDOW = 900  # a mark older than this (seconds) no longer counts as "just now"
MAX_AGE_LIMIT = 10**9


@dataclass(frozen=True)
class AuthnRequest:
    """What an authorization request asks of the sign-in behind it."""

    prompts: frozenset[str]
    max_age: int | None
    acr_values: tuple[str, ...]
    signed_in_after: int | None

    @classmethod
    def of(cls, params: Mapping[str, Any], redirect_uri: str | None) -> AuthnRequest:
        """Read prompt, max_age, acr_values and our mark; a malformed max_age is refused."""
        raw_age = params.get("max_age")
        max_age = None
        if raw_age not in (None, ""):
            text = str(raw_age)
            if not text.isascii() or not text.isdigit() or int(text) > MAX_AGE_LIMIT:
                raise InvalidRequestError(
                    "max_age must be a whole number of seconds (0 or more).",
                    redirect_uri=redirect_uri,
                )
            max_age = int(text)
        mark = str(params.get(FRESH_SIGN_IN) or "")
        return cls(
            prompts=frozenset(str(params.get("prompt") or "").split()),
            max_age=max_age,
            acr_values=tuple(str(params.get("acr_values") or "").split()),
            signed_in_after=int(mark) if mark.isascii() and mark.isdigit() else None,
        )

    def needs_sign_in(self, auth: AuthContext | None, now: int, *, has_second_factor: bool) -> bool:
        """Whether this session's sign-in is not what the request asks for."""
        if auth is None:  # no context known: only a request that asks nothing can go on
            return bool("login" in self.prompts or self.max_age is not None)
        if not self._fresh(auth, now):
            if "login" in self.prompts:
                return True
            if self.max_age is not None and auth.older_than(self.max_age, now):
                return True
        # acr_values are voluntary (Core §3.1.2.1): asked of those who can give them.
        return has_second_factor and not auth.meets(self.acr_values)

    def _fresh(self, auth: AuthContext, now: int) -> bool:
        after = self.signed_in_after
        return after is not None and now - MARK_WINDOW <= after <= auth.auth_time


def sign_in_again_target(full_path: str, now: int) -> str:
    """This request as the sign-in page's ``next``: marked with ``now`` and without
    ``prompt=login`` (which the fresh sign-in answers)."""
    parts = urlsplit(full_path)
    params = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == FRESH_SIGN_IN:
            continue
        if name == "prompt":
            value = " ".join(p for p in value.split() if p != "login")
            if not value:
                continue
        params.append((name, value))
    params.append((FRESH_SIGN_IN, str(now)))
    return f"{parts.path}?{urlencode(params)}"
