"""authenticate(): the ONE path that turns any credential into a Principal.

Bearer JWTs, API keys (in ``Authorization`` or ``X-API-Key``) and the portal cookie all come
through here; no view, guard or endpoint verifies a credential any other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from .api_keys import ApiKeyService, looks_like_api_key
from .errors import InvalidToken
from .principal import Principal
from .sessions import SessionStore
from .tokens import REFRESH_PREFIX, TokenService
from .verify_cache import VerificationCache


@dataclass(frozen=True)
class Credential:
    """A raw credential and where it came from (``cookie`` credentials need CSRF checks)."""

    value: str
    source: Literal["bearer", "x-api-key", "cookie"]


class Verifier:
    """The one verification path: a credential in, a Principal out."""

    def __init__(
        self,
        tokens: TokenService,
        sessions: SessionStore,
        api_keys: ApiKeyService,
        cache: VerificationCache,
    ):
        self._tokens = tokens
        self._sessions = sessions
        self._api_keys = api_keys
        self._cache = cache

    def authenticate(self, credential: Credential) -> Principal:
        """The Principal ``credential`` speaks for (from the cache when it may);
        ``InvalidToken`` with a cause if it does not verify.
        """
        value = credential.value.strip()
        if not value:
            raise InvalidToken("The credential is empty.", "malformed")
        cache = self._cache
        if not cache.live:
            return self._verify(value, credential.source)
        key = cache.key(value, credential.source)
        cached = cache.get(key)
        if cached is not None:
            return cached
        epoch = cache.epoch  # read before verifying: a revocation meanwhile voids the fill
        principal = self._verify(value, credential.source)
        ends = principal.valid_until.timestamp() if principal.valid_until else None
        cache.put(key, principal, ends, epoch)
        return principal

    def _verify(self, value: str, source: str) -> Principal:
        if value.startswith(REFRESH_PREFIX):
            raise InvalidToken(
                "This is a refresh token; send it to /auth/refresh and use the access token.",
                "wrong_type",
            )
        if looks_like_api_key(value):
            if source == "cookie":
                raise InvalidToken("API keys are not accepted in cookies.", "wrong_type")
            return self._api_keys.verify(value)
        if source == "x-api-key":
            raise InvalidToken("X-API-Key carries API keys (limen_...), not JWTs.", "wrong_type")
        claims = self._tokens.decode_access(value)
        # The session check is still made for every token: once per session per process, then
        # from the cache that every revocation empties before it returns (verify_cache).
        if not self._cache.session_live(claims["sid"], self._sessions.exists):
            raise InvalidToken(
                "The session behind this token has been signed out (logout or revocation). "
                "Sign in again.",
                "revoked_session",
            )
        roles = claims.get("roles") or []
        amr = claims.get("amr")
        return Principal(
            sub=claims["sub"],
            roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            auth_method=str(claims.get("auth_method", "unknown")),
            credential="cookie" if source == "cookie" else "access_token",
            client_id=claims.get("client_id"),
            sid=claims["sid"],
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            token_id=claims.get("jti"),
            valid_until=datetime.fromtimestamp(claims["exp"], UTC),
            amr=tuple(str(m) for m in amr) if isinstance(amr, list) else (),
            acr=claims["acr"] if isinstance(claims.get("acr"), str) else None,
            auth_time=claims["auth_time"] if isinstance(claims.get("auth_time"), int) else None,
            org=claims["org"] if isinstance(claims.get("org"), str) else None,
        )
