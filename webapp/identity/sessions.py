"""Live session records in Redis. Every issuance path writes one; every token check reads it.

The record's existence is what keeps a session's access tokens valid: deleting it (logout,
revocation) rejects them at once on every worker, long before their ``exp``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import redis

if TYPE_CHECKING:
    from .auth_context import AuthContext
    from .verify_cache import Invalidation

KEY = "limen:session:{sid}"
USER_INDEX = "limen:user-sessions:{uid}"


class SessionStore:
    """Live session records in Redis; a session without one is dead on every node."""

    def __init__(self, client: redis.Redis, invalidation: Invalidation | None = None) -> None:
        self._redis = client
        self._invalidation = invalidation

    def write(
        self,
        sid: str,
        *,
        user_id: str | None,
        client_id: str | None,
        auth_method: str,
        expires_at: datetime,
        now: datetime,
        auth: AuthContext | None = None,
        org: str | None = None,
    ) -> None:
        """Write the live record: who, for which client, by which door (``method``), until
        when, the person's authentication context (``auth_time``, ``amr``, ``acr``) and the
        organisation the session acts in (``org``)."""
        ttl = max(1, int((expires_at - now).total_seconds()))
        record: dict[str, Any] = {
            "uid": user_id,
            "cid": client_id,
            "method": auth_method,
            "exp": int(expires_at.timestamp()),
        }
        if auth is not None:
            record.update(auth.to_record())
        if org is not None:
            record["org"] = org
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(KEY.format(sid=sid), json.dumps(record), ex=ttl)
        if user_id:
            index = USER_INDEX.format(uid=user_id)
            pipe.sadd(index, sid)
            pipe.expire(index, ttl, gt=True)
            pipe.expire(index, ttl, nx=True)
        pipe.execute()

    def get(self, sid: str) -> dict[str, Any] | None:
        """Session ``sid``'s record, or None if it is gone."""
        raw = cast(bytes | None, self._redis.get(KEY.format(sid=sid)))
        return json.loads(raw) if raw else None

    def set_org(self, sid: str, org: str | None) -> None:
        """Change the organisation session ``sid`` acts in (None: none); the record keeps its
        expiry, and a session already gone stays gone."""
        key = KEY.format(sid=sid)
        record = self.get(sid)
        if record is None:
            return
        if org is None:
            record.pop("org", None)
        else:
            record["org"] = org
        self._redis.set(key, json.dumps(record), keepttl=True, xx=True)

    def exists(self, sid: str) -> bool:
        """True if session ``sid`` is live."""
        return bool(self._redis.exists(KEY.format(sid=sid)))

    def delete(self, sid: str, user_id: str | None = None, *, invalidate: bool = True) -> None:
        """Delete the live record; ``invalidate=False`` only when the caller broadcasts once
        for a whole batch (mass revocations) or no token was ever issued."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(KEY.format(sid=sid))
        if user_id:
            pipe.srem(USER_INDEX.format(uid=user_id), sid)
        pipe.execute()
        if invalidate:
            # Workers may hold this session's tokens as verified: empty them, and wait.
            self.invalidate("session")

    def invalidate(self, reason: str) -> None:
        """Make every process forget what it verified (see verify_cache); waits for them."""
        if self._invalidation is not None:
            self._invalidation.broadcast(reason)

    def sessions_of(self, user_id: str) -> set[str]:
        """The ids of the sessions recorded for ``user_id``."""
        members = cast(set[bytes | str], self._redis.smembers(USER_INDEX.format(uid=user_id)))
        return {m.decode() if isinstance(m, bytes) else m for m in members}
