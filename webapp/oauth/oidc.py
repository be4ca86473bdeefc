"""OpenID Connect (OIDC Core): ID tokens at the code grant and at refresh (§12.2), and the
claims userinfo answers."""

from __future__ import annotations

from typing import Any

from authlib.oidc.core import OpenIDCode, OpenIDToken, UserInfo

from webapp.extensions import identity
from webapp.http import settings
from webapp.identity.signing_keys import ID_TOKEN_ALG
from webapp.models import User
from webapp.oauth.clients import Client


class LimenIdTokens:
    """How Limen signs an ID token, whichever grant issues it: with the ring's active key of
    the client's registered algorithm (RS256 unless it chose ES256 or EdDSA), ``sid`` naming
    the session it belongs to, the claims the scope releases about the person."""

    def resolve_client_private_key(self, client: Client) -> Any:
        return identity().keys.signing_key(id_token_alg(client))[1]

    def get_client_algorithm(self, client: Client) -> str:
        return id_token_alg(client)

    def get_encode_header(self, client: Client) -> dict[str, str]:
        alg = id_token_alg(client)
        return {"alg": alg, "kid": identity().keys.signing_key(alg)[0], "typ": "JWT"}

    def get_compatible_claims(self, request: Any) -> dict[str, Any]:
        """The client's claims, and ``sid``: the session these tokens belong to, which a
        back-channel logout token names when it ends (OIDC Back-Channel Logout §2.1)."""
        claims: dict[str, Any] = super().get_compatible_claims(request)  # type: ignore[misc]
        sid = getattr(request, "limen_sid", None)  # set by save_token / the refresh grant
        if sid:
            claims["sid"] = sid
        return claims

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(identity().clock().timestamp())
        return {
            "iss": settings().issuer,
            "aud": [client.get_client_id()],
            "iat": now,
            "exp": now + 3600,
        }

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        return user_info(user, scope)


class LimenOpenIDCode(LimenIdTokens, OpenIDCode):  # type: ignore[misc]
    """ID tokens of the code grant (OIDC Core §3.1.3.3): nonce, at_hash, and the code's
    auth_time, amr and acr."""

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False  # nonces are bound to single-use codes; replay is caught by the code


class RefreshIdToken(LimenIdTokens, OpenIDToken):  # type: ignore[misc]
    """A new ID token with each refresh of a session first granted ``openid`` (OIDC Core
    §12.2): the same iss, sub, aud, auth_time, amr, acr and sid as the first, a new iat and
    exp (and at_hash for the new access token), no nonce."""

    def process_token(self, grant: Any, response: Any) -> None:
        _, token, _ = response
        request = grant.request
        sid = getattr(request, "limen_sid", None)  # set by the refresh grant
        subject = identity().oauth.session_subject(sid) if sid else None
        if subject is None or "openid" not in subject.scope:
            return
        request.user = subject.user
        request.limen_subject = subject
        token["id_token"] = self.encode_id_token(token, request)

    def get_compatible_claims(self, request: Any) -> dict[str, Any]:
        """The session's authentication, not the refresh's: a refresh is not a sign-in."""
        claims = super().get_compatible_claims(request)
        subject = request.limen_subject
        if subject.auth is None:  # its first ID token said when the session started
            claims["auth_time"] = subject.started_at
        else:
            claims.update(subject.auth.to_record())
        return claims


def id_token_alg(client: Client) -> str:
    """How this client's ID tokens are signed (its registration, else RS256)."""
    return client.row.id_token_signed_response_alg or ID_TOKEN_ALG


def user_info(user: User, scope: str) -> UserInfo:
    """The claims ``scope`` releases about ``user``: in the ID token and at userinfo."""
    scopes = set(scope.split())
    info = UserInfo(sub=user.id)
    if "profile" in scopes:
        info["name"] = user.display_name or user.email
        info["preferred_username"] = user.email
    if "email" in scopes:
        info["email"] = user.email
        info["email_verified"] = user.email_verified_at is not None  # proven by a mailed link
    return info
