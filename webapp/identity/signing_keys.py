"""The signing key ring: keys moving next -> active -> retiring -> retired, one line of keys
per algorithm. ES256 signs access tokens (and is the only one they are verified with); RS256
(the OIDC default every relying party supports) and EdDSA sign ID tokens, as each client
registered. An algorithm's first key is created when it is first needed and signs at once,
as the very first key always did; after that each algorithm is rotated like the others.

Private keys are stored encrypted with a key derived from LIMEN_SECRET_KEY. Each process
caches the ring briefly and reloads at once when it meets a key id it does not know, so a key
created by another node verifies everywhere without a restart. ``invalidate()`` (called when a
Redis pub/sub message says the ring changed) forces the next use to reload, and the signer
re-reads which key is active at least every ``signer_check_seconds`` even if a message is lost,
so no process signs with a key that is no longer active for longer than that.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from joserfc.jwk import ECKey, JWKRegistry, KeyParameters, OKPKey, RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from webapp.models import SigningKey

from .db import rollback_undo

PUBLISHED_STATES = ("next", "active", "retiring")
ALG = "ES256"  # access tokens
ALGS = ("ES256", "RS256", "EdDSA")  # every algorithm the ring keeps keys for
ID_TOKEN_ALG = "RS256"  # noqa: S105 (an algorithm name: ID tokens of clients that chose none)
SigningJWK = ECKey | RSAKey | OKPKey


def generate_key(alg: str, kid: str) -> SigningJWK:
    """A new private key for ``alg`` (P-256, RSA 2048, Ed25519)."""
    params: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "RS256":
        return RSAKey.generate_key(2048, params, private=True)
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519", params, private=True)
    if alg == ALG:
        return ECKey.generate_key("P-256", params, private=True)
    raise ValueError(f"unsupported signing algorithm {alg!r}")


def import_jwk(data: dict[str, Any]) -> SigningJWK:
    """A stored JWK (public or private) as the key object of its type."""
    key = JWKRegistry.import_key(data)
    assert isinstance(key, ECKey | RSAKey | OKPKey)
    return key


class KeyRingError(Exception):
    """The ring cannot sign: typically LIMEN_SECRET_KEY differs from the one that stored it."""


@dataclass(frozen=True)
class RingEntry:
    """A key of the ring as verifiers see it: kid, state and public key."""

    kid: str
    state: str
    public: SigningJWK
    activated_at: datetime | None
    alg: str = ALG


class KeyRing:
    """The ES256 signing keys: encrypted at rest, cached per process, published as JWKS."""

    def __init__(
        self,
        db: DbSession,
        fernet: Fernet,
        clock: Callable[[], datetime],
        cache_seconds: float = 60.0,
        miss_reload_seconds: float = 1.0,
        signer_check_seconds: float = 5.0,
    ) -> None:
        self._db = db
        self._fernet = fernet
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._miss_reload_seconds = miss_reload_seconds
        self._lock = threading.Lock()
        self._entries: dict[str, RingEntry] = {}
        self._loaded_at = 0.0
        self._signers: dict[str, tuple[str, SigningJWK]] = {}
        self.signer_check_seconds = signer_check_seconds
        self._signer_checked_at: dict[str, float] = {}

    @property
    def cache_seconds(self) -> float:
        """How long a process may use its cached copy of the ring without re-reading it."""
        return self._cache_seconds

    def invalidate(self) -> None:
        """Forget the cached ring: the next use reloads it (safe to call from any thread)."""
        self._loaded_at = 0.0
        self._signer_checked_at = {}

    # -- reading ---------------------------------------------------------------------------
    def _reload(self) -> None:
        rows = self._db.scalars(select(SigningKey).where(SigningKey.state.in_(PUBLISHED_STATES)))
        entries = {
            row.kid: RingEntry(
                row.kid, row.state, import_jwk(row.public_jwk), row.activated_at, row.alg
            )
            for row in rows
        }
        with self._lock:
            self._entries = entries
            self._loaded_at = time.monotonic()
            for alg, (kid, _) in list(self._signers.items()):
                if kid != self._active_kid(entries, alg):
                    del self._signers[alg]

    @staticmethod
    def _active_kid(entries: dict[str, RingEntry], alg: str = ALG) -> str | None:
        active = [e for e in entries.values() if e.state == "active" and e.alg == alg]
        if not active:
            return None
        # Deterministic when two nodes raced to create the first key: newest wins.
        newest = max(active, key=lambda e: (e.activated_at or datetime.min.astimezone(), e.kid))
        return newest.kid

    def _fresh_entries(self) -> dict[str, RingEntry]:
        if time.monotonic() - self._loaded_at > self._cache_seconds:
            self._reload()
        return self._entries

    def verification_key(self, kid: str, alg: str = ALG) -> SigningJWK | None:
        """The published key ``kid`` if it is an ``alg`` key: a token naming a key of another
        algorithm than its header's gets no key (no algorithm confusion)."""
        entry = self._fresh_entries().get(kid)
        if entry is None and time.monotonic() - self._loaded_at > self._miss_reload_seconds:
            self._reload()
            entry = self._entries.get(kid)
        return entry.public if entry is not None and entry.alg == alg else None

    def jwks(self) -> dict[str, Any]:
        """Every published key. Re-read unless read within the last second: an algorithm's
        first key, made on another node when first needed, signs at once, and a relying party
        that meets its kid fetches the JWKS again (a cold path; clients cache it)."""
        if time.monotonic() - self._loaded_at > self._miss_reload_seconds:
            self._reload()
        if not self._entries:
            self.ensure_active()  # publish the first key before anyone asks for a token
        entries = sorted(self._entries.values(), key=lambda e: e.kid)
        return {"keys": [e.public.as_dict(private=False) for e in entries]}

    def signing_key(self, alg: str = ALG) -> tuple[str, SigningJWK]:
        """The active ``alg`` key's id and private key, creating the first one if there is
        none."""
        entries = self._fresh_entries()
        checked = self._signer_checked_at.get(alg, 0.0)
        if time.monotonic() - checked > self.signer_check_seconds:
            # One indexed read every few seconds: a rotation (or an emergency retirement) made
            # by another process is picked up even if its pub/sub message never arrived.
            current = self._db.scalar(
                select(SigningKey.kid)
                .where(SigningKey.state == "active", SigningKey.alg == alg)
                .order_by(SigningKey.activated_at.desc(), SigningKey.kid.desc())
                .limit(1)
            )
            self._signer_checked_at[alg] = time.monotonic()
            if current != self._active_kid(entries, alg):
                self._reload()
                entries = self._entries
        kid = self._active_kid(entries, alg)
        if kid is None:
            self.ensure_active(alg)
            kid = self._active_kid(self._entries, alg)
        if kid is None:
            raise KeyRingError(f"no active {alg} signing key")
        signer = self._signers.get(alg)
        if signer is None or signer[0] != kid:
            row = self._db.get(SigningKey, kid)
            if row is None:
                raise KeyRingError(f"signing key {kid} vanished from the database")
            signer = self._signers[alg] = (kid, self._decrypt(row))
        return signer

    def _decrypt(self, row: SigningKey) -> SigningJWK:
        try:
            private = self._fernet.decrypt(row.private_jwk_encrypted.encode())
        except InvalidToken as exc:
            raise KeyRingError(
                f"signing key {row.kid} cannot be decrypted: LIMEN_SECRET_KEY differs from the "
                "one in use when the key was created (every node must share it)"
            ) from exc
        return import_jwk(json.loads(private))

    def check_decryptable(self) -> list[str]:
        """Key ids of published keys this node cannot decrypt (a secret-key mismatch)."""
        bad = []
        for row in self._db.scalars(
            select(SigningKey).where(SigningKey.state.in_(("next", "active")))
        ):
            try:
                self._decrypt(row)
            except KeyRingError:
                bad.append(row.kid)
        return bad

    # -- writing -----------------------------------------------------------------------------
    def create_key(self, state: str, alg: str = ALG) -> SigningKey:
        """A new ``alg`` key in ``state`` (added to the session, not committed)."""
        now = self._clock()
        kid = f"{now:%Y%m%d}-{secrets.token_hex(4)}"
        key = generate_key(alg, kid)
        row = SigningKey(
            kid=kid,
            alg=alg,
            state=state,
            public_jwk=key.as_dict(private=False),
            private_jwk_encrypted=self._fernet.encrypt(
                json.dumps(key.as_dict(private=True)).encode()
            ).decode(),
            created_at=now,
            activated_at=now if state == "active" else None,
        )
        self._db.add(row)
        return row

    def ensure_active(self, alg: str = ALG) -> None:
        """Create an active ``alg`` key when there is none (first use), in the caller's
        transaction. Should that transaction roll back, the ring forgets the key: no token
        signed with it has left (the answer is then a refusal or an error), and none is signed
        with it again."""
        exists = self._db.scalar(
            select(SigningKey.kid).where(SigningKey.state == "active", SigningKey.alg == alg)
        )
        if exists is None:
            self.create_key("active", alg)
            self._db.flush()
            rollback_undo(self._db, self.invalidate, "forget an unwritten first signing key")
        self._reload()
