"""Authorization requests a client hands over ahead of the browser: the public keys its
signed request objects are verified with (RFC 9101 JAR), and pushed authorization requests
(RFC 9126 PAR) kept in Redis under a one-time ``request_uri``.

A pushed request lives ``PUSHED_TTL`` seconds; once the browser brings it to the
authorization endpoint it lives ``SIGN_IN_WINDOW`` seconds more (time to sign in and
consent) and is claimed, once, when the answer (a code or a denial) is given.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from typing import Any, cast

import redis
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .crypto import sha256_hex
from .errors import PolicyViolation

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
PUSHED_TTL = 90  # seconds a pushed request waits for the browser (RFC 9126 §2.2: short)
SIGN_IN_WINDOW = 600  # seconds it lives once the browser brought it (sign-in, consent)
PUSHED_KEY = "limen:par:{digest}"
MAX_PUSHED_BYTES = 16_384  # a pushed request is a few parameters, not a document
# Request objects are signed with an asymmetric key the client registered; never HMAC (the
# client has no shared key with us but its secret, stored as a digest) and never `none`.
REQUEST_OBJECT_ALGS = ("RS256", "PS256", "ES256", "EdDSA")
MAX_CLIENT_KEYS = 10
_KEY_TYPES = {"RSA", "EC", "OKP"}
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def _rsa_bits(modulus: Any) -> int:
    """The size of an RSA JWK's modulus ``n`` (0 when it is not base64url)."""
    if not isinstance(modulus, str):
        return 0
    try:
        raw = base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))
    except ValueError:
        return 0
    return int.from_bytes(raw, "big").bit_length()


def client_jwks(data: Any) -> dict[str, Any]:
    """The JWK Set a client registers for its request objects, checked: public RSA (2048
    bits or more), EC P-256 or OKP Ed25519 keys only, at most ``MAX_CLIENT_KEYS``; a private
    or symmetric key is refused (``PolicyViolation``) so it is never stored."""
    keys = data.get("keys") if isinstance(data, Mapping) else None
    if not isinstance(keys, list) or not keys or len(keys) > MAX_CLIENT_KEYS:
        raise PolicyViolation(
            f'jwks must be a JWK Set, {{"keys": [...]}}, with 1 to {MAX_CLIENT_KEYS} public keys.'
        )
    for key in keys:
        if not isinstance(key, Mapping) or key.get("kty") not in _KEY_TYPES:
            raise PolicyViolation("Each key in jwks must be an RSA, EC or OKP public key (JWK).")
        if _PRIVATE_MEMBERS & set(key):
            raise PolicyViolation(
                "jwks must hold public keys only: remove the private parts (d, p, q, ...) "
                "and keep the private key with the client."
            )
        if key.get("use", "sig") != "sig" or key.get("alg", "RS256") not in REQUEST_OBJECT_ALGS:
            raise PolicyViolation(
                "Keys in jwks are signing keys: use must be sig (or absent), alg one of "
                f"{', '.join(REQUEST_OBJECT_ALGS)} (or absent)."
            )
        if key["kty"] == "RSA" and _rsa_bits(key.get("n")) < 2048:
            raise PolicyViolation("RSA keys in jwks must have at least 2048 bits.")
    try:
        parsed = KeySet.import_key_set({"keys": [dict(k) for k in keys]})
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise PolicyViolation(
            f"jwks holds a key that cannot be read ({str(exc).strip(' .') or 'bad encoding'}); "
            "keys are JWKs with base64url members (RFC 7517)."
        ) from exc
    for key in parsed.keys:
        curve = key.get("crv")
        if key.key_type == "EC" and curve != "P-256":
            raise PolicyViolation("EC keys in jwks must be on curve P-256 (ES256).")
        if key.key_type == "OKP" and curve != "Ed25519":
            raise PolicyViolation("OKP keys in jwks must be Ed25519 (EdDSA).")
    return {"keys": [key.as_dict(private=False) for key in parsed.keys]}


def is_pushed_request_uri(value: str) -> bool:
    """Whether ``value`` has the form of a request_uri this server hands out (RFC 9126)."""
    return value.startswith(REQUEST_URI_PREFIX)


class PushedRequests:
    """Pushed authorization requests in Redis: stored under a digest of their random
    request_uri, bound to the client that pushed them, handed out until claimed once."""

    def __init__(self, redis_client: redis.Redis) -> None:
        self._redis = redis_client

    @staticmethod
    def _key(request_uri: str) -> str:
        return PUSHED_KEY.format(digest=sha256_hex(request_uri))

    def push(self, client_id: str, params: Mapping[str, str]) -> tuple[str, int]:
        """Store the validated parameters of ``client_id``'s request; returns the
        ``request_uri`` (an RFC 9126 URN with 256 random bits) and its lifetime."""
        request_uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(32)
        record = json.dumps({"client_id": client_id, "params": dict(params)})
        if len(record) > MAX_PUSHED_BYTES:
            raise PolicyViolation(
                f"The pushed request is larger than {MAX_PUSHED_BYTES} bytes; send fewer or "
                "shorter parameters."
            )
        self._redis.set(self._key(request_uri), record, ex=PUSHED_TTL)
        return request_uri, PUSHED_TTL

    def open(self, request_uri: str, client_id: str) -> dict[str, str] | None:
        """The parameters pushed under ``request_uri`` by ``client_id``, or None (unknown,
        expired, claimed, or another client's). The first look gives the person
        ``SIGN_IN_WINDOW`` seconds to sign in and answer."""
        if not is_pushed_request_uri(request_uri) or len(request_uri) > 200:
            return None
        key = self._key(request_uri)
        raw = cast(bytes | None, self._redis.get(key))
        if raw is None:
            return None
        record = json.loads(raw)
        if record.get("client_id") != client_id:
            return None
        self._redis.expire(key, SIGN_IN_WINDOW, gt=True)
        return dict(record["params"])

    def claim(self, request_uri: str, client_id: str) -> bool:
        """Use the pushed request once: True for the one caller that removes it (the
        authorization answer), False if it was already used or has expired."""
        key = self._key(request_uri)
        raw = cast(bytes | None, self._redis.getdel(key))
        if raw is None:
            return False
        return bool(json.loads(raw).get("client_id") == client_id)


__all__ = [
    "PUSHED_TTL",
    "REQUEST_OBJECT_ALGS",
    "REQUEST_URI_PREFIX",
    "PushedRequests",
    "client_jwks",
    "is_pushed_request_uri",
]
