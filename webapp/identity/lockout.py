"""Lockout for addresses that have no account, so lockout does not reveal which ones do.

A real account counts failures in its users row and locks at the threshold (423 with
Retry-After). An unknown address must answer the same way at the same moment, or five wrong
passwords tell an attacker whether an account exists. Its failures are counted in Redis under
a digest of the address: the same threshold, the same lock length, and no row is ever written
for an address nobody registered.
"""

from __future__ import annotations

import math
from typing import cast

import redis

from .crypto import sha256_hex

COUNT_KEY = "limen:ghost-failures:{digest}"
LOCK_KEY = "limen:ghost-lock:{digest}"
# A real account's count never lapses by itself; the ghost's lapses after this long, long
# enough that waiting it out is no cheaper than other ways of probing.
COUNT_SECONDS = 30 * 86_400


class UnknownAddressLockout:
    """Lockout of addresses that have no account, in Redis, counted like an account's."""

    def __init__(self, redis_client: redis.Redis, threshold: int, lock_seconds: int) -> None:
        self._redis = redis_client
        self._threshold = threshold
        self._lock_seconds = lock_seconds

    def retry_after(self, address_key: str) -> int | None:
        """Seconds until the lock on an unknown address ends, or None if it is not locked."""
        ms = cast(int, self._redis.pttl(LOCK_KEY.format(digest=sha256_hex(address_key))))
        return max(1, math.ceil(ms / 1000)) if ms > 0 else None

    def failed(self, address_key: str) -> None:
        """Count a failure; at the threshold the address locks, as an account would."""
        digest = sha256_hex(address_key)
        count_key = COUNT_KEY.format(digest=digest)
        pipe = self._redis.pipeline()
        pipe.incr(count_key)
        pipe.expire(count_key, COUNT_SECONDS)
        count = cast(int, pipe.execute()[0])
        if count >= self._threshold:
            pipe = self._redis.pipeline()
            pipe.set(LOCK_KEY.format(digest=digest), 1, ex=self._lock_seconds)
            pipe.delete(count_key)  # after the lock the count starts again, like an account's
            pipe.execute()
