"""OpenID Connect RP-Initiated Logout 1.0: what a relying party's logout request may do.

An ``id_token_hint`` is an ID token this server issued (any of the ring's algorithms, its own
issuer; an expired one still names who and which session, §2); it names the client, the person
and the client's session (``sid``). A ``post_logout_redirect_uri`` is honoured only when it is
exactly one the client registered. Ending the client's session also ends the sign-in session
that approved it, and with it every client session that sign-in approved (``revocation``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jws import extract_compact
from sqlalchemy.orm import Session as DbSession

from webapp.models import OAuthClient, Session

from .errors import InvalidToken, PolicyViolation
from .principal import RequestMeta
from .revocation import Revocation
from .signing_keys import ALGS, KeyRing
from .tokens import MAX_TOKEN_LENGTH

HINT_INVALID = "The id_token_hint is not an ID token this server issued."


@dataclass(frozen=True)
class LogoutHint:
    """Who an id_token_hint names: the client it was issued to, the person, the session."""

    client_id: str
    sub: str
    sid: str | None


class EndSession:
    """Reads logout requests' hints and ends the sessions they name."""

    def __init__(
        self, db: DbSession, ring: KeyRing, revocation: Revocation, *, issuer: str
    ) -> None:
        self._db = db
        self._ring = ring
        self._revocation = revocation
        self._issuer = issuer

    def read_hint(self, token: str) -> LogoutHint:
        """The hint's client, subject and sid; InvalidToken unless we signed it for a client."""
        claims = self._verified_claims(token)
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        client_id = claims.get("azp") or (audiences[0] if len(audiences) == 1 else None)
        sub, sid = claims.get("sub"), claims.get("sid")
        if (
            claims.get("iss") != self._issuer
            or not isinstance(client_id, str)
            or client_id not in audiences
            or not isinstance(sub, str)
            or not (sid is None or isinstance(sid, str))
        ):
            raise InvalidToken(HINT_INVALID, "bad_claims")
        return LogoutHint(client_id=client_id, sub=sub, sid=sid)

    def _verified_claims(self, token: str) -> dict[str, object]:
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise InvalidToken(HINT_INVALID, "malformed")
        try:
            header = extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, TypeError, UnicodeError) as exc:
            raise InvalidToken(HINT_INVALID, "malformed") from exc
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGS or not isinstance(kid, str):
            raise InvalidToken(HINT_INVALID, "bad_algorithm")
        key = self._ring.verification_key(kid, str(alg))
        if key is None:
            raise InvalidToken(HINT_INVALID, "unknown_kid")
        try:
            with warnings.catch_warnings():  # EdDSA's name is deprecated (RFC 9864), not unsafe
                warnings.simplefilter("ignore", SecurityWarning)
                return dict(jwt.decode(token, key, algorithms=[str(alg)]).claims)
        except (JoseError, ValueError) as exc:
            raise InvalidToken(HINT_INVALID, "bad_signature") from exc

    @staticmethod
    def may_return_to(client: OAuthClient, uri: str) -> bool:
        """Exact match against the client's registered post-logout redirect URIs."""
        return uri in (client.post_logout_redirect_uris or [])

    def end(self, hint: LogoutHint, meta: RequestMeta) -> int:
        """End the hint's client session and the sign-in session that approved it (each
        only if it is the hint's person's); how many sessions this ended directly."""
        row = self._db.get(Session, hint.sid) if hint.sid else None
        if row is None or row.user_id != hint.sub or row.client_id != hint.client_id:
            raise PolicyViolation("The session the id_token_hint names is not that client's.")
        parent = self._db.get(Session, row.auth_session_id) if row.auth_session_id else None
        ended = 0
        for session in (row, parent):
            if session is not None and session.user_id == hint.sub:
                ended += self._revocation.revoke_session(
                    session.id, reason="rp_logout", event="logout", actor=hint.sub, meta=meta
                )
        return ended
