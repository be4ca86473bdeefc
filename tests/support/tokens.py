"""Craft hostile tokens: forged, expired, alg=none, HS256 key confusion, unknown kid."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

from tests.support.db import query
from webapp.identity.crypto import derive_fernet


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_key(database_url: str, secret_key: str) -> tuple[str, ECKey, dict[str, Any]]:
    """The deployment's active ES256 key (other algorithms' lines may be active too),
    decrypted the way a node does (tests know the secret)."""
    kid, blob, public = query(
        database_url,
        "SELECT kid, private_jwk_encrypted, public_jwk FROM signing_keys WHERE state = 'active' "
        "AND alg = 'ES256' ORDER BY activated_at DESC LIMIT 1",
    )[0]
    private = derive_fernet(secret_key, b"signing-keys").decrypt(blob.encode())
    public_jwk = public if isinstance(public, dict) else json.loads(public)
    return kid, ECKey.import_key(json.loads(private)), public_jwk


def claims_like(claims: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Claims copied from a real token, with changes."""
    return {**claims, **changes}


def unverified_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def es256(key: ECKey, kid: str, claims: dict[str, Any], typ: str = "at+jwt") -> str:
    return jwt.encode({"alg": "ES256", "kid": kid, "typ": typ}, claims, key, algorithms=["ES256"])


def alg_none(kid: str, claims: dict[str, Any]) -> str:
    header = b64(json.dumps({"alg": "none", "kid": kid, "typ": "at+jwt"}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}."


def hs256_with_public_key(kid: str, public_jwk: dict[str, Any], claims: dict[str, Any]) -> str:
    """The classic confusion attack: HMAC keyed with the server's public key."""
    header = b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "at+jwt"}).encode())
    body = b64(json.dumps(claims).encode())
    secret = json.dumps(public_jwk, sort_keys=True).encode()
    sig = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(sig)}"


def tampered(token: str, **changes: Any) -> str:
    """Same header and signature, different claims: the signature no longer matches."""
    header, _, sig = token.split(".")
    claims = claims_like(unverified_claims(token), **changes)
    return f"{header}.{b64(json.dumps(claims).encode())}.{sig}"


def expired_claims(claims: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    return claims_like(claims, iat=now - 3600, exp=now - 1800)
