"""Small primitives shared by the identity core: random strings, digests, encryption at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import os
import secrets
import zlib

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class UniqueIds:
    """Identifiers that must be unique, not secret (a JWT's ``jti``, a request id): a random
    per-process prefix (``prefix_bytes`` from the OS CSPRNG, drawn once) and a counter. One
    random draw per process instead of one per identifier; a forked child draws its own.
    Never use it for anything a guess could abuse (session ids, secrets, codes)."""

    def __init__(self, prefix_bytes: int = 12, sep: str = "") -> None:
        self._prefix_bytes = prefix_bytes
        self._sep = sep
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._prefix = secrets.token_urlsafe(self._prefix_bytes) + self._sep
        self._count = itertools.count(1)

    def next(self) -> str:
        """A fresh identifier: the prefix and the next number (base 16)."""
        return f"{self._prefix}{next(self._count):x}"


def random_base62(length: int) -> str:
    """A random base62 string of ``length`` characters (from ``secrets``)."""
    return "".join(secrets.choice(BASE62) for _ in range(length))


def base62_fixed(number: int, width: int) -> str:
    """``number`` in base62, exactly ``width`` digits (most significant first)."""
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        digits.append(BASE62[rem])
    return "".join(reversed(digits))


def crc32_base62(text: str) -> str:
    """Six base62 characters of CRC32: lets anyone reject a mistyped secret offline."""
    return base62_fixed(zlib.crc32(text.encode()), 6)


def sha256_hex(value: str) -> str:
    """The SHA-256 hex digest of ``value``."""
    return hashlib.sha256(value.encode()).hexdigest()


def fingerprint(value: str) -> str:
    """What logs may show of a secret: the first 8 hex characters of its SHA-256."""
    return sha256_hex(value)[:8]


def digests_equal(a: str, b: str) -> bool:
    """Compare two digests in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


def derive_fernet(secret_key: str, purpose: bytes) -> Fernet:
    """A Fernet key for one purpose, derived from the deployment's secret key with HKDF."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"limen:" + purpose).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))
