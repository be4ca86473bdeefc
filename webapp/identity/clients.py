"""OAuth clients: registration, secrets (digests only, rotation with overlap), redirect rules."""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import SplitResult, urlsplit

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from webapp.models import OAuthClient

from .audit import AuditLog
from .crypto import digests_equal, sha256_hex
from .delegation import Holder, hand_on, may_grant_introspection
from .errors import Conflict, NotFound, PolicyViolation
from .principal import RequestMeta
from .rbac import ALL_PERMISSIONS
from .request_objects import client_jwks
from .signing_keys import ALG as ACCESS_TOKEN_ALG
from .signing_keys import ALGS
from .verify_cache import Invalidation

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_ALIASES = {
    "authorization_code": "authorization_code",
    "refresh_token": "refresh_token",
    "client_credentials": "client_credentials",
    "device_code": DEVICE_GRANT,
    DEVICE_GRANT: DEVICE_GRANT,
}
# The grant types a client is registered with, by short name: the API's model and the
# portal's form read them from here.
GRANT_TYPES = ("authorization_code", "client_credentials", "device_code", "refresh_token")
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
SUPPORTED_SCOPES = OIDC_SCOPES | ALL_PERMISSIONS
BUILTIN_CLIENTS = ("limen-cli", "limen-portal")
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
# User ids are UUIDs; a client whose id looked like one would be the `sub` of its
# client_credentials tokens and could pass for that person (RFC 9700 §4.15).
USER_ID_SHAPE = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.IGNORECASE)
MAX_SECRET_OVERLAP_SECONDS = 30 * 86_400  # an old secret works at most this long after a rotation
DEFAULT_SECRET_OVERLAP_SECONDS = 86_400  # ... and this long when the caller does not say
MAX_SECRET_OVERLAP = timedelta(seconds=MAX_SECRET_OVERLAP_SECONDS)


@dataclass(frozen=True)
class RegisteredClient:
    """A client just registered: its row and the secret, shown once."""

    row: OAuthClient
    secret: str | None  # shown once; None for public clients


def _parts(uri: str) -> SplitResult | None:
    """``uri`` split, or None when it cannot be a URL at all (``http://[::1``, port 65536)."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (raises ValueError for a port that is not 0-65535)
    except ValueError:
        return None
    return parts


def is_loopback_redirect(uri: str) -> bool:
    """True for an ``http`` redirect URI to a loopback IP address (RFC 8252 §7.3)."""
    parts = _parts(uri)
    if parts is None or parts.scheme != "http" or parts.hostname is None:
        return False
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def redirect_uri_matches(registered: Sequence[str], requested: str, *, public: bool) -> bool:
    """Exact match; for public (native) clients only, RFC 8252 §7.3: a loopback IP redirect
    matches on any port. A confidential client's redirect URIs always match exactly."""
    if requested in registered:
        return _parts(requested) is not None
    if not public or not is_loopback_redirect(requested):
        return False
    asked = urlsplit(requested)
    for uri in registered:
        reg = _parts(uri)
        if (
            reg is not None
            and is_loopback_redirect(uri)
            and reg.port is None
            and reg.hostname == asked.hostname
            and reg.path == asked.path
            and reg.query == asked.query
            and not asked.fragment
        ):
            return True
    return False


def validate_redirect_uri(uri: str) -> None:
    """Accept https, loopback http and private-use schemes; else ``PolicyViolation``."""
    parts = _parts(uri)
    if parts is None or any(ord(c) < 0x21 or ord(c) == 0x7F for c in uri):
        raise PolicyViolation(f"Redirect URI {uri[:200]!r} is not a valid URL.")
    if parts.fragment:
        raise PolicyViolation(f"Redirect URI {uri} must not have a fragment.")
    if parts.scheme == "https" and parts.hostname:
        return
    if is_loopback_redirect(uri):
        return
    if parts.scheme and parts.scheme not in ("http", "https", "javascript", "data"):
        return  # private-use scheme of a native app (RFC 8252 §7.1), e.g. com.example.app:/cb
    raise PolicyViolation(
        f"Redirect URI {uri} must be https, a loopback http URL, or a private-use scheme."
    )


class ClientRegistry:
    """OAuth clients: registration, hashed secrets with rotation overlap, disabling."""

    def __init__(
        self,
        db: DbSession,
        audit: AuditLog,
        clock: Callable[[], datetime],
        invalidation: Invalidation,
    ) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock
        self._invalidation = invalidation

    def cached(self, client_id: str) -> OAuthClient | None:
        """The active client as a detached copy, remembered like a verification (at most the
        cache's max age, forgotten everywhere when a client is registered, has its secret
        rotated or is disabled): the token endpoint asks for it on every request."""

        def load() -> OAuthClient | None:
            row = self.get(client_id)
            if row is None:
                return None
            columns = sa_inspect(OAuthClient).column_attrs
            return OAuthClient(**{c.key: getattr(row, c.key) for c in columns})

        return cast(OAuthClient | None, self._invalidation.cache.memo(f"client:{client_id}", load))

    def get(self, client_id: str) -> OAuthClient | None:
        """The active client with this id, or None (unknown or deleted)."""
        row = self._db.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
        if row is None or row.disabled_at is not None:
            return None
        return row

    def access_token_alg(self, client_id: str) -> str:
        """How this client's access tokens are signed: its access_token_signed_response_alg,
        ES256 when it chose none (the built-in clients always; no query for them)."""
        if client_id in BUILTIN_CLIENTS:
            return ACCESS_TOKEN_ALG
        chosen = self._db.scalar(
            select(OAuthClient.access_token_signed_response_alg).where(
                OAuthClient.client_id == client_id
            )
        )
        return chosen if chosen in ALGS else ACCESS_TOKEN_ALG

    def require(self, client_id: str) -> OAuthClient:
        """The active client with this id; ``NotFound`` otherwise."""
        row = self.get(client_id)
        if row is None:
            raise NotFound(f"No OAuth client with id {client_id}.")
        return row

    def active(self) -> list[OAuthClient]:
        """Every client that is not deleted, oldest first."""
        return list(
            self._db.scalars(
                select(OAuthClient)
                .where(OAuthClient.disabled_at.is_(None))
                .order_by(OAuthClient.created_at)
            )
        )

    def register(
        self,
        *,
        name: str,
        grants: Sequence[str],
        scopes: Sequence[str] = (),
        redirect_uris: Sequence[str] = (),
        public: bool = False,
        trusted: bool = False,
        introspect: bool = False,
        id_token_alg: str | None = None,
        access_token_alg: str | None = None,
        post_logout_redirect_uris: Sequence[str] = (),
        jwks: Mapping[str, Any] | None = None,
        require_pushed_requests: bool = False,
        client_id: str | None = None,
        actor: str | None = None,
        meta: RequestMeta | None = None,
        holder: Holder,
    ) -> RegisteredClient:
        """Register a client (flushed, not committed); the secret is returned only here.
        Its scopes and rights are handed on by ``holder``, who must hold them;
        ``id_token_alg`` is how its ID tokens are signed (None: RS256), ``access_token_alg``
        its access tokens (None: ES256);
        ``post_logout_redirect_uris`` where RP-initiated logout may send the browser back;
        ``jwks`` the public keys its signed request objects are verified with (RFC 9101);
        ``require_pushed_requests``: its authorization requests must be pushed (RFC 9126)."""
        grant_types = self._grant_types(grants, public)
        if id_token_alg is not None and id_token_alg not in ALGS:
            raise PolicyViolation(f"id_token_signed_response_alg must be one of {', '.join(ALGS)}.")
        if access_token_alg is not None and access_token_alg not in ALGS:
            raise PolicyViolation(
                f"access_token_signed_response_alg must be one of {', '.join(ALGS)}."
            )
        unknown = sorted(set(scopes) - SUPPORTED_SCOPES)
        if unknown:
            raise PolicyViolation(
                f"Unknown scope(s): {', '.join(unknown)}. Known: "
                f"{', '.join(sorted(SUPPORTED_SCOPES))}."
            )
        self.check_rights(holder, scopes, introspect)
        keys = client_jwks(jwks) if jwks is not None else None
        if require_pushed_requests and "authorization_code" not in grant_types:
            raise PolicyViolation(
                "require_pushed_authorization_requests applies to the authorization_code "
                "grant; register the client with it, or leave the flag off."
            )
        if introspect and public:
            raise PolicyViolation("Only a confidential client (a resource server) may introspect.")
        self._invalidation.after_commit(self._db, "client.registered")
        for uri in (*redirect_uris, *post_logout_redirect_uris):
            validate_redirect_uri(uri)
        if "authorization_code" in grant_types and not redirect_uris:
            raise PolicyViolation("The authorization_code grant needs at least one redirect URI.")
        client_id = client_id or f"lc_{secrets.token_urlsafe(12)}"
        if not CLIENT_ID_PATTERN.fullmatch(client_id):
            raise PolicyViolation("client_id must be 3-64 letters, digits, dots, dashes.")
        if USER_ID_SHAPE.fullmatch(client_id):
            raise PolicyViolation(
                "client_id must not look like a user id (a UUID): its tokens' subject would "
                "pass for that person. Choose another id, or let Limen generate one."
            )
        if self._db.scalar(select(OAuthClient.id).where(OAuthClient.client_id == client_id)):
            raise Conflict(f"A client with id {client_id} already exists.")
        secret = None if public else "limen_cs_" + secrets.token_urlsafe(32)
        row = OAuthClient(
            client_id=client_id,
            name=name,
            secret_digest=sha256_hex(secret) if secret else None,
            is_public=public,
            is_trusted=trusted,
            may_introspect=introspect,
            id_token_signed_response_alg=id_token_alg,
            access_token_signed_response_alg=access_token_alg,
            post_logout_redirect_uris=list(post_logout_redirect_uris) or None,
            jwks=keys,
            require_pushed_authorization_requests=require_pushed_requests,
            redirect_uris=list(redirect_uris),
            grant_types=grant_types,
            scopes=sorted(set(scopes)),
            created_at=self._clock(),
        )
        self._db.add(row)
        self._db.flush()
        self._audit.record(
            "client.created",
            actor=actor,
            client_id=client_id,
            meta=meta,
            grants=grant_types,
            public=public,
            introspect=introspect,
        )
        return RegisteredClient(row, secret)

    @staticmethod
    def check_rights(holder: Holder, scopes: Sequence[str], introspect: bool) -> None:
        """``holder`` may give a client these scopes (and the introspect right), or raises."""
        hand_on(holder, [s for s in scopes if s in ALL_PERMISSIONS])
        if introspect:
            may_grant_introspection(holder)

    @staticmethod
    def _grant_types(grants: Sequence[str], public: bool) -> list[str]:
        if not grants:
            raise PolicyViolation("Give at least one grant type.")
        unknown = [g for g in grants if g not in GRANT_ALIASES]
        if unknown:
            raise PolicyViolation(
                f"Unsupported grant type(s): {', '.join(unknown)}. Supported: "
                f"{', '.join(GRANT_TYPES)}."
            )
        resolved = sorted({GRANT_ALIASES[g] for g in grants})
        if public and "client_credentials" in resolved:
            raise PolicyViolation("A public client cannot use client_credentials (no secret).")
        return resolved

    def check_secret(self, client: OAuthClient, secret: str) -> bool:
        """Constant-time check against the current secret and, within overlap, the previous."""
        if client.secret_digest is None:
            return False
        digest = sha256_hex(secret)
        current = digests_equal(client.secret_digest, digest)
        previous = False
        if client.previous_secret_digest and client.previous_secret_expires_at:
            previous = digests_equal(client.previous_secret_digest, digest) and (
                client.previous_secret_expires_at > self._clock()
            )
        return current or previous

    def rotate_secret(
        self,
        client_id: str,
        overlap: timedelta,
        actor: str | None = None,
        meta: RequestMeta | None = None,
        *,
        holder: Holder,
    ) -> str:
        """A new secret, returned once: whoever gets it acts as the client, so ``holder``
        must hold the client's scopes and rights."""
        client = self.require(client_id)
        self.check_rights(holder, client.scopes, client.may_introspect)
        if client.is_public:
            raise PolicyViolation("Public clients have no secret to rotate.")
        if overlap < timedelta(0) or overlap > MAX_SECRET_OVERLAP:
            raise PolicyViolation(
                f"The overlap must be between 0 seconds and {MAX_SECRET_OVERLAP.days} days."
            )
        secret = "limen_cs_" + secrets.token_urlsafe(32)
        self._invalidation.after_commit(self._db, "client.secret_rotated")
        client.previous_secret_digest = client.secret_digest
        client.previous_secret_expires_at = self._clock() + overlap
        client.secret_digest = sha256_hex(secret)
        self._audit.record(
            "client.secret_rotated",
            actor=actor,
            client_id=client_id,
            meta=meta,
            overlap_seconds=int(overlap.total_seconds()),
        )
        return secret

    def disable(
        self, client_id: str, actor: str | None = None, meta: RequestMeta | None = None
    ) -> OAuthClient:
        """Delete (disable) a client; built-in clients are a ``PolicyViolation``."""
        client = self.require(client_id)
        if client.client_id in BUILTIN_CLIENTS:
            raise PolicyViolation(f"{client_id} is built in and cannot be deleted.")
        client.disabled_at = self._clock()
        self._invalidation.after_commit(self._db, "client.disabled")
        self._audit.record("client.deleted", actor=actor, client_id=client_id, meta=meta)
        return client

    @staticmethod
    def unregistered_scopes(client: OAuthClient, requested: str | None) -> list[str]:
        """Scopes Limen knows that the client asked for but is not registered for: such a
        request is refused (``invalid_scope``); values Limen does not know are not listed
        (they are ignored, OIDC Core §3.1.2.1)."""
        asked = set((requested or "").split())
        return sorted((asked & SUPPORTED_SCOPES) - set(client.scopes))

    @staticmethod
    def allowed_scopes(client: OAuthClient, requested: str | None) -> list[str]:
        """What the client may get of what it asked (all of its scopes when it asked none)."""
        registered = set(client.scopes)
        if not requested:
            return sorted(registered)
        asked = set(requested.split())
        return sorted(asked & registered)
