"""A per-process cache of verified credentials, and the broadcast that empties every copy.

A client reuses its access token or API key for the token's whole life; verifying it again on
every request (an ES256 check, a Redis read, for API keys a database read) is most of what an
authenticated request costs. ``VerificationCache`` keeps the Principal a credential verified
to, under these rules:

* never past the credential's own end (``exp``, an API key's expiry or grace end) and never
  older than ``max_age`` seconds, so anything the broadcast could miss heals quickly;
* only successes are kept, so a cache can never turn a rejection into an acceptance later;
* only while this process's invalidation listener is subscribed and alive (it marks the cache
  live every second; a dropped subscription or a stuck listener switches the cache off);
* a fill that began before an invalidation is discarded (the epoch check), so a request that
  read a session record just before it was deleted cannot store it after the broadcast.

``Invalidation.broadcast`` empties this process's cache, publishes on ``limen:invalidate`` and
waits until every subscribed process has acknowledged that it emptied its own: when a logout,
a revocation or a disable returns, no worker anywhere still accepts the credential. Every
invalidation empties the whole cache rather than chasing which entries depended on the change:
invalidations are rare next to verifications, and "everything" cannot miss a dependency.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, cast

import redis
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import scoped_session

from .db import after_commit
from .principal import Principal

INVALIDATION_CHANNEL = "limen:invalidate"
ACK_KEY = "limen:invalidate:ack:{id}"
LIVENESS_SECONDS = 5.0  # the listener marks the cache live at least once a second

log = logging.getLogger("limen.verify_cache")


class VerificationCache:
    """This process's memory of verified credentials; see the module docstring."""

    def __init__(
        self,
        max_entries: int,
        max_age: float,
        now: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_age = max_age
        self._now = now
        self._monotonic = monotonic
        self._entries: dict[bytes, tuple[Principal, float]] = {}
        self._memo: dict[str, tuple[Any, float]] = {}
        self._live_sessions: dict[str, float] = {}
        self._lock = threading.Lock()
        self._epoch = 0
        self._live_until = 0.0
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        """True if the settings allow caching at all."""
        return self.max_entries > 0 and self.max_age > 0

    @property
    def live(self) -> bool:
        """True while enabled and the invalidation listener has reported in recently."""
        return self.enabled and self._monotonic() < self._live_until

    @property
    def epoch(self) -> int:
        """The invalidation count; a fill that began under an older epoch is dropped."""
        return self._epoch

    @staticmethod
    def key(value: str, source: str) -> bytes:
        """The cache key of a credential: a SHA-256 of where it came from and its value."""
        return hashlib.sha256(f"{source}\0{value}".encode()).digest()

    def __len__(self) -> int:
        """How many credentials are cached."""
        return len(self._entries)

    # -- the listener's side -------------------------------------------------------------
    def mark_live(self) -> None:
        """The listener is alive: the cache may be used for a few more seconds."""
        self._live_until = self._monotonic() + LIVENESS_SECONDS

    def mark_down(self) -> None:
        """The listener is gone: stop using the cache and empty it."""
        self._live_until = 0.0
        self.clear()

    def clear(self) -> None:
        """Empty the cache and start a new epoch."""
        with self._lock:
            self._epoch += 1
            self._entries = {}
            self._memo = {}
            self._live_sessions = {}

    # -- the verifier's side -------------------------------------------------------------
    def get(self, key: bytes) -> Principal | None:
        """The cached Principal for ``key``, or None if absent, expired or not live."""
        if not self.live:
            return None
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        principal, deadline = found
        if self._now() >= deadline:
            self._entries.pop(key, None)
            self.misses += 1
            return None
        self.hits += 1
        return principal

    def put(self, key: bytes, principal: Principal, ends_at: float | None, epoch: int) -> None:
        """Keep ``principal`` until ``ends_at`` (epoch seconds) or ``max_age``, whichever is
        first, unless an invalidation happened since ``epoch`` was read."""
        if not self.live:
            return
        deadline = self._now() + self.max_age
        if ends_at is not None:
            deadline = min(deadline, ends_at)
        if deadline <= self._now():
            return
        with self._lock:
            if epoch != self._epoch:
                return
            if len(self._entries) >= self.max_entries:
                # Oldest first (dicts keep insertion order); an eighth at a time, not per put.
                for stale in list(self._entries)[: max(1, self.max_entries // 8)]:
                    del self._entries[stale]
            self._entries[key] = (principal, deadline)

    def session_live(self, sid: str, check: Callable[[str], bool]) -> bool:
        """Whether session ``sid`` is live: ``check(sid)`` (a Redis read) once per session per
        process, then remembered under the same rules as verifications — at most ``max_age``,
        emptied by every invalidation (logout and every revocation broadcast before they
        return), a fill that raced an invalidation discarded. Only "live" is remembered: a
        session that is gone stays gone. So a token first seen here for a session already
        checked (a refresh mints new tokens for the same session) costs no round trip."""
        if not self.live:
            return check(sid)
        until = self._live_sessions.get(sid)
        if until is not None and self._now() < until:
            return True
        epoch = self._epoch
        alive = check(sid)
        if alive:
            with self._lock:
                if epoch == self._epoch:
                    if len(self._live_sessions) >= self.max_entries:
                        for stale in list(self._live_sessions)[: max(1, self.max_entries // 8)]:
                            del self._live_sessions[stale]
                    self._live_sessions[sid] = self._now() + self.max_age
        return alive

    def memo(self, key: str, load: Callable[[], Any]) -> Any:
        """``load()``, remembered under the same rules as verifications (``max_age``, emptied
        by every invalidation): facts a verified request needs next, like the caller's
        profile, that change only through paths that invalidate."""
        if not self.live:
            return load()
        found = self._memo.get(key)
        if found is not None and self._now() < found[1]:
            return found[0]
        epoch = self._epoch
        value = load()
        with self._lock:
            if epoch == self._epoch:
                if len(self._memo) >= self.max_entries:
                    for stale in list(self._memo)[: max(1, self.max_entries // 8)]:
                        del self._memo[stale]
                self._memo[key] = (value, self._now() + self.max_age)
        return value


class Invalidation:
    """Empties verification caches here and in every other process, and waits for them."""

    def __init__(
        self, client: redis.Redis, cache: VerificationCache, ack_timeout: float = 1.0
    ) -> None:
        self._redis = client
        self.cache = cache
        self.ack_timeout = ack_timeout

    def broadcast(self, reason: str) -> int:
        """Drop every cached verification everywhere; returns how many processes confirmed.

        Raises RedisError when the news cannot be published (callers fail closed). A process
        that does not confirm in time is logged; its listener switches its cache off when it
        loses Redis, and its entries end after ``max_age`` regardless.
        """
        self.cache.clear()
        news_id = uuid.uuid4().hex
        receivers = cast(
            int,
            self._redis.publish(
                INVALIDATION_CHANNEL,
                json.dumps({"kind": "verify", "id": news_id, "reason": reason}),
            ),
        )
        if receivers <= 0:
            return 0
        ack_key = ACK_KEY.format(id=news_id)
        confirmed = 0
        deadline = time.monotonic() + self.ack_timeout
        try:
            while confirmed < receivers:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.warning(
                        "invalidation: %d of %d processes confirmed within %.1fs (%s)",
                        confirmed,
                        receivers,
                        self.ack_timeout,
                        reason,
                    )
                    break
                if self._redis.blpop([ack_key], timeout=max(0.01, remaining)) is not None:
                    confirmed += 1
        finally:
            self._redis.delete(ack_key)
        return confirmed

    def acknowledge(self, news: dict[str, Any]) -> None:
        """The listener's side: this process has emptied its cache for ``news``."""
        news_id = news.get("id")
        if not isinstance(news_id, str) or not news_id.isalnum() or len(news_id) > 64:
            return
        ack_key = ACK_KEY.format(id=news_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.rpush(ack_key, "1")
        pipe.expire(ack_key, 30)
        pipe.execute()

    def after_commit(self, db: DbSession | scoped_session[DbSession], reason: str) -> None:
        """Broadcast once the current transaction commits (a change read from the database
        must be visible before caches are emptied, or a refill could read the old row)."""

        def _broadcast() -> None:
            try:
                self.broadcast(reason)
            except redis.RedisError:
                log.exception("invalidation after commit could not be published (%s)", reason)

        after_commit(db, _broadcast, f"invalidation:{reason}")
