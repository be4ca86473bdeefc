"""Delegation: what a credential may hand on. The one place that decides it.

A credential can only hand on a subset of its own effective rights: its scopes within what its
subject's roles allow. Every path that issues a credential asks ``hand_on`` — API keys (create,
rotate, collect), clients (register, secret rotation), authorization-code and device grants,
client credentials and refresh (which never widens) — so an API key holding ``keys:write``, or
a third-party app's token, can never mint a credential with more than it holds itself.

Identity scopes (``openid``, ``email``, ``offline_access``) name claims and refresh tokens,
not permissions: a person signed in to the portal may always consent to them; any other
credential hands them on only if it holds them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import PermissionDenied, PolicyViolation
from .principal import Principal
from .rbac import ADMIN, ALL_PERMISSIONS, permissions_for

IDENTITY_SCOPES = frozenset({"openid", "email", "offline_access"})
# Client properties that are rights too: what a holder needs to give them to a client.
INTROSPECT_NEEDS = "users:read"  # introspection reveals who holds any token, and their email


class ScopeNotHeld(PermissionDenied):
    """A credential tried to hand on rights it does not hold (403; OAuth: invalid_scope)."""

    def __init__(self, detail: str, missing: list[str]) -> None:
        super().__init__(detail, permission=" ".join(missing))
        self.missing = missing


@dataclass(frozen=True)
class Holder:
    """Whoever hands rights on: a credential's scopes under its subject's current roles."""

    roles: tuple[str, ...]
    scopes: frozenset[str]
    what: str  # how messages name it: "this API key", "your roles", ...

    @classmethod
    def of(cls, principal: Principal, roles: Iterable[str] | None = None) -> Holder:
        """A request's credential; ``roles`` are the subject's roles now, when known. A person
        signed in to the portal may consent to identity scopes whatever else they hold."""
        kinds = {"api_key": "this API key", "cookie": "your portal session"}
        person = principal.credential == "cookie"
        return cls(
            tuple(principal.roles if roles is None else roles),
            principal.scopes | IDENTITY_SCOPES if person else principal.scopes,
            kinds.get(principal.credential, "this access token"),
        )

    @classmethod
    def roles_of(cls, roles: Iterable[str], what: str = "your roles") -> Holder:
        """Everything the roles allow: a fresh sign-in, a job acting for an owner, an operator."""
        held = tuple(roles)
        return cls(held, permissions_for(held) | IDENTITY_SCOPES, what)

    @classmethod
    def scoped(cls, roles: Iterable[str], scopes: Iterable[str], what: str) -> Holder:
        """A grant already made (a refresh family, a client's registration)."""
        return cls(tuple(roles), frozenset(scopes), what)

    @property
    def title(self) -> str:
        """``what`` with a capital letter, to start a message."""
        return self.what[:1].upper() + self.what[1:]

    @property
    def rights(self) -> frozenset[str]:
        """What the holder may hand on: its scopes within what its roles allow."""
        return frozenset(self.scopes) & (permissions_for(self.roles) | IDENTITY_SCOPES)


def hand_on(holder: Holder, requested: Iterable[str], *, narrow: bool = False) -> tuple[str, ...]:
    """The scopes of ``requested`` that ``holder`` may hand on, sorted.

    Strict by default: a scope the subject's roles do not allow is a ``PolicyViolation``, one
    the credential itself does not hold is ``ScopeNotHeld``; both name what is missing.
    ``narrow=True`` is for OAuth grants, where the server grants the part of the request the
    holder holds and silently drops the rest (RFC 6749 §3.3).
    """
    wanted = sorted(set(requested))
    unknown = [s for s in wanted if s not in ALL_PERMISSIONS and s not in IDENTITY_SCOPES]
    if unknown and not narrow:
        raise PolicyViolation(
            f"Unknown scope(s): {', '.join(unknown)}. Known scopes: "
            f"{', '.join(sorted(ALL_PERMISSIONS | IDENTITY_SCOPES))}."
        )
    rights = holder.rights
    if narrow:
        return tuple(s for s in wanted if s in rights)
    allowed = permissions_for(holder.roles) | IDENTITY_SCOPES
    beyond = [s for s in wanted if s not in allowed]
    if beyond:
        raise PolicyViolation(
            f"Your role does not allow the scope(s) {', '.join(beyond)}; choose from "
            f"{', '.join(sorted(allowed & ALL_PERMISSIONS))}."
        )
    missing = [s for s in wanted if s not in rights]
    if missing:
        held = ", ".join(sorted(rights & ALL_PERMISSIONS)) or "no permissions"
        raise ScopeNotHeld(
            f"{holder.title} cannot hand on {', '.join(missing)}: a credential "
            f"can only pass on what it holds itself ({held}). Use a credential that holds "
            "them, e.g. sign in to the portal.",
            missing,
        )
    return tuple(wanted)


# The operator at the server's console (limen-server create-client): an admin's rights.
OPERATOR = Holder.roles_of((ADMIN,), "the operator")


def may_grant_introspection(holder: Holder) -> None:
    """Giving a client the introspect right needs ``users:read``: it reveals token holders."""
    if INTROSPECT_NEEDS not in holder.rights:
        raise ScopeNotHeld(
            f"{holder.title} cannot give a client the introspect right: that "
            f"needs {INTROSPECT_NEEDS} (introspection reveals who holds each token).",
            [INTROSPECT_NEEDS],
        )
