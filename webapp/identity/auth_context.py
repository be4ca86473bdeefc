"""The authentication context of a session: when and how the person signed in.

Recorded once, at sign-in, in the session record; every later decision reads it from there:
``prompt=login`` and ``max_age`` (OIDC Core §3.1.2.1), ``acr_values``, the ``auth_time`` /
``amr`` (RFC 8176) / ``acr`` claims of ID and access tokens, and step-up. Grants made from a
session (an authorization code, a device approval) inherit the approving session's context:
the person authenticated once, the client gets what that authentication was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Authentication context class references (OIDC Core §2 acr; published in discovery).
ACR_ONE_FACTOR = "urn:limen:acr:1fa"  # one factor: a password, or an upstream provider
# two factors: a password and a one-time code or a passkey, or a passkey alone (it proves
# possession and, since Limen requires user verification for it, the PIN or biometric)
ACR_TWO_FACTORS = "urn:limen:acr:2fa"
ACR_VALUES = (ACR_ONE_FACTOR, ACR_TWO_FACTORS)
ACR_RANK = {ACR_ONE_FACTOR: 1, ACR_TWO_FACTORS: 2}

# RFC 8176 method references for each way Limen signs a person in ("fed": an upstream
# identity provider vouched for them; what it checked is not ours to claim).
_METHODS: dict[str, tuple[tuple[str, ...], str]] = {
    "password": (("pwd",), ACR_ONE_FACTOR),
    "password:mfa-setup-required": (("pwd",), ACR_ONE_FACTOR),
    "password+otp": (("pwd", "otp", "mfa"), ACR_TWO_FACTORS),
    "password+passkey": (("pwd", "hwk", "mfa"), ACR_TWO_FACTORS),
    "passkey": (("hwk",), ACR_TWO_FACTORS),
}
_UPSTREAM = (("fed",), ACR_ONE_FACTOR)


@dataclass(frozen=True)
class AuthContext:
    """How and when a person authenticated: ``auth_time`` (epoch seconds), RFC 8176 ``amr``,
    and the ``acr`` that authentication meets."""

    auth_time: int
    amr: tuple[str, ...]
    acr: str

    @classmethod
    def of_sign_in(cls, method: str, auth_time: int) -> AuthContext:
        """The context of a sign-in by ``method`` (password, password+otp, upstream:<name>)."""
        amr, acr = _UPSTREAM if method.startswith("upstream:") else _METHODS[method]
        return cls(auth_time=auth_time, amr=amr, acr=acr)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> AuthContext | None:
        """The context kept in a session record or a code row (None when there is none: a
        service session, or a record written before contexts were kept)."""
        auth_time, amr, acr = record.get("auth_time"), record.get("amr"), record.get("acr")
        if not isinstance(auth_time, int) or not isinstance(acr, str):
            return None
        if isinstance(amr, str):
            amr = amr.split()
        if not isinstance(amr, list | tuple) or not all(isinstance(m, str) for m in amr):
            return None
        return cls(auth_time=auth_time, amr=tuple(amr), acr=acr)

    def to_record(self) -> dict[str, Any]:
        """The context as JSON-ready fields (session records, token claims)."""
        return {"auth_time": self.auth_time, "amr": list(self.amr), "acr": self.acr}

    def meets(self, acr_values: Iterable[str]) -> bool:
        """Whether this authentication is at least as strong as one of the requested acr
        values we know; values we do not know ask for nothing we can give (voluntary)."""
        known = [ACR_RANK[value] for value in acr_values if value in ACR_RANK]
        return not known or ACR_RANK.get(self.acr, 0) >= min(known)

    def older_than(self, max_age: int, now: int) -> bool:
        """OIDC Core §3.1.2.1 max_age: more than ``max_age`` seconds since the sign-in."""
        return now - self.auth_time > max_age
