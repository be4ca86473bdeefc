"""Signing-key rotation: next -> active -> retiring -> retired, and the emergency path.

A new key is published (state ``next``, in JWKS) at least ``publish_seconds`` before it signs,
so every JWKS cache has seen it; the old key keeps verifying (``retiring``) until every token it
can have signed has expired, then leaves JWKS. Each step is one conditional transaction, so
running ``advance`` twice, or on two workers at once, changes nothing more than running it once.
Each algorithm's keys (``signing_keys.ALGS``) make their own line: the same steps, the same
timing, one active key per algorithm.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from webapp.models import Session, SigningKey

from .audit import AuditLog
from .db import after_commit, execute_dml
from .signing_keys import ALG, KeyRing
from .tokens import CLOCK_LEEWAY


@dataclass(frozen=True)
class LifecyclePolicy:
    """How often signing keys rotate and how long each step of a rotation waits."""

    rotation_days: int  # the active key is rotated when it is this old
    publish_seconds: int  # a next key is in JWKS this long before it signs
    access_token_ttl: int  # the longest life of a token the old key signed
    retire_margin_seconds: int  # signer switch-over bound + clock leeway

    @property
    def retire_after(self) -> timedelta:
        """How long after it stops signing a key may still verify a live token."""
        return timedelta(seconds=self.access_token_ttl + self.retire_margin_seconds)


@dataclass(frozen=True)
class Transition:
    """One signing key moving to a new state."""

    kid: str
    to_state: str


@dataclass(frozen=True)
class EmergencyRotation:
    """What an emergency rotation did: the new key, the retired ones, the exposed window."""

    new_kid: str
    retired: list[str]
    since: datetime  # sessions that minted tokens in [since, until] may hold the old key's
    until: datetime


class KeyLifecycle:
    """The signing-key schedule: next -> active -> retiring -> retired, and emergencies."""

    def __init__(
        self, db: DbSession, ring: KeyRing, audit: AuditLog, clock: Callable[[], datetime]
    ) -> None:
        self._db = db
        self._ring = ring
        self._audit = audit
        self._clock = clock

    def _keys(self, state: str, alg: str | None = None) -> list[SigningKey]:
        query = select(SigningKey).where(SigningKey.state == state)
        if alg is not None:
            query = query.where(SigningKey.alg == alg)
        return list(self._db.scalars(query.order_by(SigningKey.created_at)))

    def _algs(self) -> list[str]:
        """The algorithms in use (with an active or a waiting key), ES256 always first."""
        used = set(
            self._db.scalars(
                select(SigningKey.alg).where(SigningKey.state.in_(("active", "next"))).distinct()
            )
        )
        return [ALG, *sorted(used - {ALG})]

    # -- planned rotation ------------------------------------------------------------------
    def request_rotation(self, actor: str | None = None) -> tuple[SigningKey, bool]:
        """Publish a successor for every algorithm in use now (each signs after the publish
        delay), reusing one that is waiting; answers the access-token (ES256) key."""
        self._ring.ensure_active()  # on an empty ring the first key signs at once
        answer: tuple[SigningKey, bool] | None = None
        for alg in self._algs():
            found = self._publish_successor(alg, actor)
            answer = answer or found
        assert answer is not None  # ES256 is always in use
        return answer

    def _publish_successor(self, alg: str, actor: str | None) -> tuple[SigningKey, bool]:
        waiting = self._keys("next", alg)
        if waiting:
            return waiting[0], False
        row = self._ring.create_key("next", alg)
        self._audit.record("signing_key.published", actor=actor, kid=row.kid, alg=alg)
        after_commit(self._db, self._ring.invalidate, "signing keys changed")
        return row, True

    def advance(self, policy: LifecyclePolicy, actor: str | None = None) -> list[Transition]:
        """Take every step that is due, for every algorithm (the caller commits them together)."""
        self._ring.ensure_active()
        now = self._clock()
        done: list[Transition] = []
        for alg in self._algs():
            done.extend(self._advance_line(alg, policy, now, actor))
        for key in self._keys("retiring"):
            due = key.retiring_at is not None and now - key.retiring_at >= policy.retire_after
            if due and self._retire(key.kid, now, "retiring", actor, reason="expired_tokens"):
                done.append(Transition(key.kid, "retired"))
        if done:
            after_commit(self._db, self._ring.invalidate, "signing keys changed")
        return done

    def _advance_line(
        self, alg: str, policy: LifecyclePolicy, now: datetime, actor: str | None
    ) -> list[Transition]:
        """One algorithm's due steps: publish a successor when the active key is old enough,
        promote a successor published long enough ago."""
        done: list[Transition] = []
        active = self._keys("active", alg)
        newest = max((k.activated_at or k.created_at for k in active), default=None)
        if (
            newest is not None
            and now - newest >= timedelta(days=policy.rotation_days)
            and not self._keys("next", alg)
        ):
            row, _ = self._publish_successor(alg, actor or "schedule")
            done.append(Transition(row.kid, "next"))
        publish = timedelta(seconds=policy.publish_seconds)
        ready = [k for k in self._keys("next", alg) if now - k.created_at >= publish]
        if ready and self._promote(ready[0].kid, now, actor, alg):
            done.append(Transition(ready[0].kid, "active"))
        return done

    def _promote(self, kid: str, now: datetime, actor: str | None, alg: str = ALG) -> bool:
        promoted = execute_dml(
            self._db,
            update(SigningKey)
            .where(SigningKey.kid == kid, SigningKey.state == "next")
            .values(state="active", activated_at=now)
            .execution_options(synchronize_session=False),
        )
        if promoted.rowcount != 1:
            return False  # another worker promoted it first
        old = list(
            self._db.scalars(
                select(SigningKey.kid).where(
                    SigningKey.state == "active", SigningKey.alg == alg, SigningKey.kid != kid
                )
            )
        )
        self._db.execute(
            update(SigningKey)
            .where(SigningKey.kid.in_(old), SigningKey.state == "active")
            .values(state="retiring", retiring_at=now)
            .execution_options(synchronize_session=False)
        )
        self._audit.record(
            "signing_key.activated", actor=actor or "schedule", kid=kid, retiring=old
        )
        self._db.flush()
        self._db.expire_all()
        return True

    def _retire(
        self, kid: str, now: datetime, from_state: str, actor: str | None, *, reason: str
    ) -> bool:
        retired = execute_dml(
            self._db,
            update(SigningKey)
            .where(SigningKey.kid == kid, SigningKey.state == from_state)
            .values(state="retired", retired_at=now)
            .execution_options(synchronize_session=False),
        )
        if retired.rowcount != 1:
            return False
        self._audit.record("signing_key.retired", actor=actor or "schedule", kid=kid, reason=reason)
        self._db.flush()
        self._db.expire_all()
        return True

    # -- emergency -------------------------------------------------------------------------
    def emergency_rotate(self, policy: LifecyclePolicy, actor: str | None) -> EmergencyRotation:
        """A compromised active key: a new key signs now; the old one stops verifying now."""
        now = self._clock()
        algs = self._algs()
        compromised = self._keys("active") + self._keys("next")
        new = self._ring.create_key("active")  # the access-token key first
        for alg in algs[1:]:  # every other algorithm in use gets its new key too
            self._ring.create_key("active", alg)
        self._db.flush()
        for key in compromised:
            key.state = "retired"
            key.retiring_at = key.retiring_at or now
            key.retired_at = now
        activated = [k.activated_at for k in compromised if k.activated_at is not None]
        since = now - timedelta(seconds=policy.access_token_ttl + CLOCK_LEEWAY)
        if activated:  # nothing before the old key became active was signed with it
            since = max(since, min(activated))
        # A process that missed the news may sign with the old key until its next check.
        until = now + timedelta(seconds=self._ring.signer_check_seconds + CLOCK_LEEWAY)
        retired = [k.kid for k in compromised]
        self._audit.record(
            "signing_key.emergency_rotation",
            outcome="success",
            actor=actor,
            kid=new.kid,
            retired=retired,
            sessions_since=since.isoformat(),
        )
        after_commit(self._db, self._ring.invalidate, "signing keys changed")
        return EmergencyRotation(new.kid, retired, since, until)

    def sessions_minted_between(
        self, since: datetime, until: datetime, batch: int = 500
    ) -> Iterator[list[str]]:
        """Session ids that minted an access token in the window, in batches (keyset order).

        Already revoked sessions are included: revoking them again is a no-op that also deletes
        a live Redis record a crashed run may have left behind.
        """
        after = ""
        while True:
            ids = list(
                self._db.scalars(
                    select(Session.id)
                    .where(
                        Session.last_seen_at >= since,
                        Session.last_seen_at <= until,
                        Session.id > after,
                    )
                    .order_by(Session.id)
                    .limit(batch)
                )
            )
            if not ids:
                return
            yield ids
            after = ids[-1]

    # -- reading ---------------------------------------------------------------------------
    def describe(self, policy: LifecyclePolicy) -> list[dict[str, object]]:
        """Every key that is or was published, with when its next step is due."""
        rows = self._db.scalars(select(SigningKey).order_by(SigningKey.created_at.desc()))
        out: list[dict[str, object]] = []
        for row in rows:
            due: datetime | None = None
            if row.state == "next":
                due = row.created_at + timedelta(seconds=policy.publish_seconds)
            elif row.state == "retiring" and row.retiring_at is not None:
                due = row.retiring_at + policy.retire_after
            elif row.state == "active" and row.activated_at is not None:
                due = row.activated_at + timedelta(days=policy.rotation_days)
            out.append(
                {
                    "kid": row.kid,
                    "alg": row.alg,
                    "state": row.state,
                    "created_at": row.created_at,
                    "activated_at": row.activated_at,
                    "retiring_at": row.retiring_at,
                    "retired_at": row.retired_at,
                    "next_step_at": due,
                }
            )
        return out
