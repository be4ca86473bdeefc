"""Token issuance, refresh rotation and access-token decoding (RFC 9068 JWTs).

Every path that issues tokens goes through ``TokenService.start_session``, which writes the
session row and the Redis session record before any token leaves the server.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import redis
from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken as FernetInvalid
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from webapp.models import RefreshFamily, RefreshToken, Session

from .audit import AuditLog
from .auth_context import AuthContext
from .crypto import UniqueIds, sha256_hex
from .db import after_commit, execute_dml, rollback_undo
from .errors import InvalidRefreshToken, InvalidToken, RefreshReuseDetected
from .principal import RequestMeta
from .revocation import Revocation
from .sessions import SessionStore
from .signing_keys import ALG, ALGS, KeyRing, SigningJWK

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 (a JOSE type, not a secret)
REFRESH_PREFIX = "limen_rt_"
FIRST_PARTY_CLIENT = "limen-portal"  # the portal; also whom a family without a client is for
MAX_TOKEN_LENGTH = 4096
RETRY_KEY = "limen:refresh-retry:{digest}"
SERVICE_SESSION_KEY = "limen:service-session:{client}:{scopes}"
SERVICE_SESSION_SECONDS = 3600
CLOCK_LEEWAY = 5
JTIS = UniqueIds()  # access tokens' jti: unique (RFC 9068 §2.2), inside the signature


def _b64url(segment: str) -> bytes:
    """base64url without padding (RFC 7515 2), strictly: other alphabets are refused."""
    if not segment.isascii() or any(c in segment for c in "+/="):
        raise ValueError("not base64url")
    return base64.b64decode(segment + "=" * (-len(segment) % 4), altchars=b"-_", validate=True)


def _signature_verifies(key: SigningJWK, alg: str, signed: bytes, signature: bytes) -> bool:
    """Whether ``signature`` over ``signed`` verifies with ``key`` under ``alg`` (RFC 7518
    3.3 RS256, 3.4 ES256; RFC 8037 EdDSA with Ed25519)."""
    try:
        if alg == "ES256" and isinstance(key, ECKey):
            if len(signature) != 64:  # r and s, 32 bytes each (RFC 7518 3.4)
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            key.get_op_key("verify").verify(der, signed, ec.ECDSA(hashes.SHA256()))
            return True
        if alg == "RS256" and isinstance(key, RSAKey):
            key.get_op_key("verify").verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            return True
        if alg == "EdDSA" and isinstance(key, OKPKey):
            public = key.get_op_key("verify")
            if not isinstance(public, Ed25519PublicKey):
                return False
            public.verify(signature, signed)
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


@dataclass(frozen=True)
class TokenSet:
    """What a grant answers: the access token, its lifetime, the refresh token, the session."""

    access_token: str
    expires_in: int
    expires_at: int
    refresh_token: str | None
    scope: str
    session_id: str
    token_type: str = "Bearer"  # noqa: S105 (RFC 6750 token type)


@dataclass(frozen=True)
class Grant:
    """Who a session is for; what every issuance path hands to ``start_session``."""

    subject: str
    user_id: str | None
    roles: tuple[str, ...]
    scopes: tuple[str, ...]
    client_id: str
    auth_method: str
    # How the person authenticated (None for a service): recorded in the session record,
    # carried by its tokens.
    auth: AuthContext | None = None
    # The sign-in session that approved this grant (a code or a device approval): this
    # session ends when that one does, unless granted offline_access (see revocation).
    approved_in: str | None = None
    # The organisation the session acts in (the ``org`` claim): kept in the session record,
    # chosen with a refresh that asks for it, a membership checked whenever it is issued.
    org: str | None = None


class TokenService:
    """Sessions and tokens: start a session, rotate refresh tokens, mint and decode JWTs."""

    def __init__(
        self,
        db: DbSession,
        redis_client: redis.Redis,
        sessions: SessionStore,
        keys: KeyRing,
        revocation: Revocation,
        audit: AuditLog,
        clock: Callable[[], datetime],
        retry_cipher: Fernet,
        *,
        issuer: str,
        audience: str,
        access_ttl: int,
        refresh_ttl: int,
        retry_window: int,
        memo: Callable[[str, Callable[[], Any]], Any] | None = None,
        access_alg_for: Callable[[str], str] | None = None,
    ) -> None:
        self._memo = memo or (lambda _key, load: load())  # (no memory: tests of the parts)
        # How a client's access tokens are signed (its access_token_signed_response_alg).
        self._access_alg_for = access_alg_for or (lambda _client_id: ALG)
        self._db = db
        self._redis = redis_client
        self._sessions = sessions
        self._keys = keys
        self._revocation = revocation
        self._audit = audit
        self._clock = clock
        self._cipher = retry_cipher
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.retry_window = retry_window

    # -- issuance ----------------------------------------------------------------------------
    def start_session(
        self, grant: Grant, meta: RequestMeta, *, with_refresh: bool = True
    ) -> TokenSet:
        """Create a session (row + Redis record) and its first tokens."""
        # May create the algorithm's first key; never inside our transaction.
        self._keys.signing_key(self._access_alg_for(grant.client_id))
        now = self._clock()
        sid = secrets.token_urlsafe(24)
        expires_at = now + timedelta(seconds=self.refresh_ttl)
        self._db.add(
            Session(
                id=sid,
                user_id=grant.user_id,
                client_id=grant.client_id,
                auth_method=grant.auth_method,
                ip=meta.ip,
                user_agent=(meta.user_agent or "")[:255] or None,
                created_at=now,
                last_seen_at=now,
                expires_at=expires_at,
                auth_session_id=grant.approved_in,
            )
        )
        self._db.flush()  # the session row first: families reference it
        refresh_plain = None
        if with_refresh:
            family = RefreshFamily(
                session_id=sid,
                user_id=grant.user_id,
                client_id=grant.client_id,
                scope=" ".join(grant.scopes),
                created_at=now,
                expires_at=expires_at,
            )
            self._db.add(family)
            self._db.flush()
            refresh_plain, _ = self._new_refresh(family, parent=None, now=now)
        self._audit.record(
            "session.created",
            user_id=grant.user_id,
            client_id=grant.client_id,
            session_id=sid,
            meta=meta,
            auth_method=grant.auth_method,
        )
        # The live record goes first: a token must never exist without it.
        self._sessions.write(
            sid,
            user_id=grant.user_id,
            client_id=grant.client_id,
            auth_method=grant.auth_method,
            expires_at=expires_at,
            now=now,
            auth=grant.auth,
            org=grant.org,
        )
        # Should the boundary roll back instead of committing, no token went out: drop the record.
        undo = self._sessions.delete
        rollback_undo(self._db, lambda: undo(sid, grant.user_id, invalidate=False), "live record")
        return self._token_set(grant, sid, refresh_plain, now)

    def service_tokens(self, grant: Grant, meta: RequestMeta) -> TokenSet:
        """client_credentials: an access token in the client's current service session.

        A client asks for a token many times an hour; one session per (client, scopes) per
        hour carries them all, so a grant is a signature instead of a session row, an audit
        row and a commit. Which session is current is kept in Redis (shared by every node) and
        remembered per process like a verification: any revocation empties that memory
        everywhere, so a revoked or disabled client's session is never handed out again.
        """
        key = SERVICE_SESSION_KEY.format(
            client=grant.client_id, scopes=sha256_hex(" ".join(grant.scopes))[:16]
        )

        def current() -> str:
            found = cast(bytes | str | None, self._redis.get(key))
            if found is not None:
                sid = found.decode() if isinstance(found, bytes) else found
                if self._sessions.exists(sid):
                    return sid
            sid = self.start_session(grant, meta, with_refresh=False).session_id
            self._redis.set(key, sid, ex=SERVICE_SESSION_SECONDS)
            return sid

        sid = str(self._memo(key, current))
        return self._token_set(grant, sid, None, self._clock())

    def _new_refresh(
        self, family: RefreshFamily, parent: RefreshToken | None, now: datetime
    ) -> tuple[str, RefreshToken]:
        plain = REFRESH_PREFIX + secrets.token_urlsafe(32)
        row = RefreshToken(
            family_id=family.id,
            token_hash=sha256_hex(plain),
            parent_id=parent.id if parent else None,
            status="active",
            created_at=now,
            expires_at=family.expires_at,
        )
        self._db.add(row)
        self._db.flush()
        return plain, row

    def _token_set(self, grant: Grant, sid: str, refresh: str | None, now: datetime) -> TokenSet:
        access, exp = self.mint_access(grant, sid, now)
        return TokenSet(
            access_token=access,
            expires_in=exp - int(now.timestamp()),
            expires_at=exp,
            refresh_token=refresh,
            scope=" ".join(grant.scopes),
            session_id=sid,
        )

    def mint_access(self, grant: Grant, sid: str, now: datetime) -> tuple[str, int]:
        """A signed RFC 9068 access token for ``grant`` in session ``sid``, and its ``exp``."""
        alg = self._access_alg_for(grant.client_id)
        kid, key = self._keys.signing_key(alg)
        iat = int(now.timestamp())
        exp = iat + self.access_ttl
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": grant.subject,
            "aud": self.audience,
            "exp": exp,
            "iat": iat,
            "jti": JTIS.next(),  # unique, not secret: no CSPRNG draw per token
            "client_id": grant.client_id,
            "scope": " ".join(grant.scopes),
            "sid": sid,
            "roles": list(grant.roles),
            "auth_method": grant.auth_method,
        }
        if grant.auth is not None:  # auth_time, amr (an RFC 8176 array) and acr
            claims.update(grant.auth.to_record())
        if grant.org is not None:
            claims["org"] = grant.org
        header = {"alg": alg, "kid": kid, "typ": ACCESS_TOKEN_TYP}
        return jwt.encode(header, claims, key, algorithms=[alg]), exp

    # -- refresh -----------------------------------------------------------------------------
    def refresh(
        self,
        refresh_token: str,
        grant_for: Callable[[RefreshFamily], Grant],
        meta: RequestMeta,
        *,
        clients: Collection[str],
    ) -> TokenSet:
        """Rotate a refresh token of one of ``clients`` (RFC 6749 §6: a token is bound to the
        client it was issued to). ``grant_for`` re-reads who the family belongs to now and may
        refuse; nothing is spent before it agrees."""
        if not refresh_token.startswith(REFRESH_PREFIX) or len(refresh_token) > 200:
            raise InvalidRefreshToken("This is not a Limen refresh token. Sign in again.")
        digest = sha256_hex(refresh_token)
        row = self._db.scalar(select(RefreshToken).where(RefreshToken.token_hash == digest))
        if row is None:
            raise InvalidRefreshToken("The refresh token is unknown or expired. Sign in again.")
        family = self._db.get(RefreshFamily, row.family_id)
        now = self._clock()
        self._check_family(family, row, now, clients)
        assert family is not None  # _check_family raised otherwise
        if row.status == "active":
            grant = grant_for(family)  # before anything is spent: it may refuse
            rotated = execute_dml(
                self._db,
                update(RefreshToken)
                .where(RefreshToken.id == row.id, RefreshToken.status == "active")
                .values(status="rotated", rotated_at=now)
                .execution_options(synchronize_session=False),
            )
            if rotated.rowcount == 1:
                return self._rotate(family, row, digest, grant, now, meta)
            self._db.refresh(row)  # another request rotated it first
        if row.status == "rotated":
            replay = self._idempotent_retry(row, digest, now)
            if replay is not None:
                self._audit.record(
                    "token.refresh_retry",
                    user_id=family.user_id,
                    client_id=family.client_id,
                    session_id=family.session_id,
                    meta=meta,
                )
                return replay
            self._revocation.revoke_session(
                family.session_id,
                reason="refresh_reuse",
                event="token.reuse_detected",
                meta=meta,
            )
            raise RefreshReuseDetected(
                "This refresh token was already used. For your safety the session it belonged "
                "to has been signed out everywhere; sign in again."
            )
        raise InvalidRefreshToken("The refresh token has been revoked. Sign in again.")

    def _check_family(
        self,
        family: RefreshFamily | None,
        row: RefreshToken,
        now: datetime,
        clients: Collection[str],
    ) -> None:
        if family is None or family.revoked_at is not None:
            raise InvalidRefreshToken("This session has been signed out. Sign in again.")
        if family.expires_at <= now or row.expires_at <= now:
            raise InvalidRefreshToken("The session has expired. Sign in again.")
        if (family.client_id or FIRST_PARTY_CLIENT) not in clients:
            raise InvalidRefreshToken(
                f"The refresh token was issued to another client ({family.client_id}); only "
                "that client can redeem it, at /oauth/token, authenticating as itself."
            )
        if not self._sessions.exists(family.session_id):
            raise InvalidRefreshToken("This session has been signed out. Sign in again.")

    def _rotate(
        self,
        family: RefreshFamily,
        old: RefreshToken,
        old_digest: str,
        grant: Grant,
        now: datetime,
        meta: RequestMeta,
    ) -> TokenSet:
        plain, new = self._new_refresh(family, parent=old, now=now)
        self._db.execute(
            update(RefreshToken)
            .where(RefreshToken.id == old.id)
            .values(successor_id=new.id)
            .execution_options(synchronize_session=False)
        )
        self._db.execute(
            update(Session)
            .where(Session.id == family.session_id)
            .values(last_seen_at=now, ip=meta.ip)
            .execution_options(synchronize_session=False)
        )
        self._audit.record(
            "token.refreshed",
            user_id=family.user_id,
            client_id=family.client_id,
            session_id=family.session_id,
            meta=meta,
        )
        result = self._token_set(grant, family.session_id, plain, now)
        if self.retry_window > 0:
            blob = self._cipher.encrypt(json.dumps(asdict(result)).encode())
            retry_key, window = RETRY_KEY.format(digest=old_digest), self.retry_window
            after_commit(
                self._db, lambda: self._redis.set(retry_key, blob, ex=window), "refresh retry"
            )
        return result

    def _idempotent_retry(self, row: RefreshToken, digest: str, now: datetime) -> TokenSet | None:
        """The same successor for a repeat of the immediately previous token, in the window."""
        if self.retry_window <= 0 or row.rotated_at is None or row.successor_id is None:
            return None
        if (now - row.rotated_at).total_seconds() > self.retry_window:
            return None
        successor = self._db.get(RefreshToken, row.successor_id)
        if successor is None or successor.status != "active":
            return None
        deadline = time.monotonic() + 2.0
        while True:  # the winner writes the cache right after it commits
            blob = cast(bytes | None, self._redis.get(RETRY_KEY.format(digest=digest)))
            if blob is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if blob is None:
            return None
        try:
            return TokenSet(**json.loads(self._cipher.decrypt(blob)))
        except (FernetInvalid, TypeError, ValueError):
            return None

    # -- decoding ----------------------------------------------------------------------------
    def decode_access(self, token: str, *, expired_ok: bool = False) -> dict[str, Any]:
        """Verified claims of an access token, or InvalidToken naming the cause class
        (``expired_ok``: a token past its ``exp`` still answers, to tell whose it was).

        Written out rather than through a JOSE library's generic decode: the only accepted
        form is compact JWS with typ at+jwt, an algorithm of our ring (ES256, or RS256 /
        EdDSA for clients that chose them) and a kid of that algorithm's line, so the work is
        one signature verification (OpenSSL, via cryptography) and a handful of claim checks.
        This is the whole cost of a first-seen token, on every request that carries one.
        """
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("The access token is too long to be a Limen token.", "malformed")
        parts = token.split(".")
        try:
            if len(parts) != 3:
                raise ValueError("not three segments")
            header = json.loads(_b64url(parts[0]))
            signature = _b64url(parts[2])
            if not isinstance(header, dict):
                raise ValueError("header is not an object")
        except (ValueError, TypeError, UnicodeError) as exc:
            raise InvalidToken("The access token is not a well-formed JWT.", "malformed") from exc
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALGS:
            raise InvalidToken(
                f"Tokens signed with alg {str(alg)[:16]!r} are not accepted; Limen signs "
                f"{', '.join(ALGS)}.",
                "bad_algorithm",
            )
        if header.get("typ") not in (ACCESS_TOKEN_TYP, "application/at+jwt"):
            raise InvalidToken(
                "This JWT is not an access token (typ must be at+jwt).", "wrong_type"
            )
        if "crit" in header:  # RFC 7515 4.1.11: we understand no extensions
            raise InvalidToken(
                "The token's header names extensions Limen does not use.", "malformed"
            )
        kid = header.get("kid")
        # A key of the header's algorithm only: no algorithm confusion.
        key = self._keys.verification_key(kid, alg) if isinstance(kid, str) else None
        if key is None:  # unknown, or a key of another algorithm
            raise InvalidToken(
                "The token was signed with an unknown key id: was it issued by another "
                "deployment, or has its key been retired? Get a new token.",
                "unknown_kid",
            )
        try:
            signed = f"{parts[0]}.{parts[1]}".encode("ascii")
        except UnicodeError as exc:
            raise InvalidToken("The token's signature does not verify.", "bad_signature") from exc
        if not _signature_verifies(key, alg, signed, signature):
            raise InvalidToken("The token's signature does not verify.", "bad_signature")
        try:
            claims = json.loads(_b64url(parts[1]))
        except (ValueError, TypeError, UnicodeError) as exc:
            raise InvalidToken("The access token could not be decoded.", "malformed") from exc
        if not isinstance(claims, dict):
            raise InvalidToken("The access token could not be decoded.", "malformed")
        self._validate_claims(claims, expired_ok=expired_ok)
        return claims

    def _validate_claims(self, claims: dict[str, Any], *, expired_ok: bool = False) -> None:
        def invalid(claim: str) -> InvalidToken:
            cause = {"aud": "bad_audience", "iss": "bad_issuer"}.get(claim, "bad_claims")
            return InvalidToken(f"The token's {claim} claim is not valid here.", cause)

        for claim in ("iss", "aud", "exp", "sub", "sid", "client_id"):
            if claims.get(claim) is None:
                raise invalid(claim)
        if claims["iss"] != self.issuer:
            raise invalid("iss")
        aud = claims["aud"]
        if not (aud == self.audience or (isinstance(aud, list) and self.audience in aud)):
            raise invalid("aud")
        now = int(self._clock().timestamp())
        exp = claims["exp"]
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise InvalidToken("The token's claims are not valid.", "bad_claims")
        if exp < now - CLOCK_LEEWAY and not expired_ok:
            raise InvalidToken("The access token has expired; refresh it.", "expired")
        for claim in ("nbf", "iat"):
            value = claims.get(claim)
            if value is not None and (
                not isinstance(value, int | float) or isinstance(value, bool)
            ):
                raise invalid(claim)
        nbf = claims.get("nbf")
        if nbf is not None and nbf > now + CLOCK_LEEWAY:
            raise invalid("nbf")
        if not all(isinstance(claims[c], str) for c in ("sub", "sid", "client_id")):
            raise InvalidToken("The token's claims are not valid.", "bad_claims")
