"""When each API key was last used: noted in Redis by verification, written to the database
by the ``api_keys.flush_usage`` job (every 30 s by default).

A verification never writes to the database: it sets one field of a Redis hash (and only when
the key's stored ``last_used_at`` is a minute old or more). The job moves the hash aside with
``RENAME`` (atomic: a use noted meanwhile starts a new hash) and writes each key's time where
it is newer than the stored one; the moved hash is deleted only once the job's transaction
has committed (``after_commit``). A job that dies
half-way leaves the moved hash, which the next run (or one running beside it) finishes; the
"newer only" update makes running twice harmless.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import cast

import redis
from sqlalchemy import or_, update
from sqlalchemy.orm import Session as DbSession

from webapp.models import ApiKey

from .db import after_commit

PENDING = "limen:api_keys:last_used"
FLUSHING = PENDING + ":flushing:"


class KeyUsage:
    """Last-use times of API keys: ``note`` on the verification path, ``flush`` in the job."""

    def __init__(self, client: redis.Redis, clock: Callable[[], datetime]) -> None:
        self._redis = client
        self._clock = clock

    def note(self, key_id: str, at: datetime) -> None:
        """Remember that ``key_id`` was used at ``at`` (one Redis command; later wins)."""
        self._redis.hset(PENDING, key_id, at.isoformat())

    def pending(self) -> dict[str, datetime]:
        """Uses noted and not yet written to the database (what the portal may add)."""
        raw = cast(dict[bytes, bytes], self._redis.hgetall(PENDING))
        return {k.decode(): datetime.fromisoformat(v.decode()) for k, v in raw.items()}

    def flush(self, db: DbSession) -> int:
        """Write every noted use to ``api_keys.last_used_at`` (newer only; the caller
        commits); the rows updated."""
        batch = FLUSHING + secrets.token_hex(8)
        try:
            self._redis.rename(PENDING, batch)
        except redis.ResponseError as exc:
            if "no such key" not in str(exc).lower():  # else: nothing used since the last run
                raise
        updated = 0
        for name in self._redis.scan_iter(match=FLUSHING + "*", count=100):
            updated += self._write(db, cast(bytes, name).decode())
        return updated

    def _write(self, db: DbSession, batch: str) -> int:
        raw = cast(dict[bytes, bytes], self._redis.hgetall(batch))
        updated = 0
        for key_id, value in raw.items():
            at = datetime.fromisoformat(value.decode())
            result = db.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id.decode())
                .where(or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < at))
                .values(last_used_at=at)
                .execution_options(synchronize_session=False)
            )
            updated += result.rowcount  # type: ignore[attr-defined]
        # The Redis copy goes only once the rows are durable: a failed or lost commit leaves
        # the batch for the next run.
        after_commit(db, lambda: self._redis.delete(batch), "api key usage batch dropped")
        return updated
