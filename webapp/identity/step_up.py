"""Step-up authentication (RFC 9470) for Limen's own sensitive actions.

The rule, in one place: a sensitive action (signing-key rotation, client secret rotation or
collection, role changes) needs a person who signed in at most ``max_age`` seconds ago
(``LIMEN_STEP_UP_MAX_AGE``), with two factors if they have a second factor enrolled (one
factor otherwise: asking for what they cannot give would lock them out). Credentials that
carry no person's sign-in — API keys and a client's own client_credentials tokens — are
refused outright: they cannot step up, and letting them through would let a stale session
mint an API key and act through it without ever signing in again.
"""

from __future__ import annotations

from .auth_context import ACR_ONE_FACTOR, ACR_TWO_FACTORS, AuthContext
from .errors import PersonRequired, StepUpRequired
from .principal import Principal

SERVICE_METHODS = frozenset({"api_key", "client_credentials"})


def required_acr(has_second_factor: bool) -> str:
    """The acr a sensitive action asks of this person."""
    return ACR_TWO_FACTORS if has_second_factor else ACR_ONE_FACTOR


def is_service(principal: Principal) -> bool:
    """Whether the credential speaks for no person's sign-in (API key, client credentials)."""
    return principal.credential == "api_key" or principal.auth_method in SERVICE_METHODS


def check(
    principal: Principal,
    *,
    has_second_factor: bool,
    max_age: int,
    now: int,
    acr: str | None = None,
) -> None:
    """Pass, or raise ``PersonRequired`` / ``StepUpRequired`` saying what sign-in is needed.

    ``acr`` overrides the per-person rule (an action that always wants two factors)."""
    if is_service(principal):
        raise PersonRequired(
            "This action needs a person who signed in recently; API keys and client "
            "credentials cannot perform it. Sign in (limen login, or the portal) and retry "
            "with that access token."
        )
    wanted = acr or required_acr(has_second_factor)
    if principal.auth_time is None or principal.acr is None:
        raise StepUpRequired(
            "This action needs a fresh sign-in; this token does not say when you signed in.",
            acr=wanted,
            max_age=max_age,
        )
    auth = AuthContext(auth_time=principal.auth_time, amr=principal.amr, acr=principal.acr)
    if not auth.meets([wanted]):
        raise StepUpRequired(
            "This action needs a sign-in with your second factor (two-step verification); "
            "sign in again with your password and one-time code, then retry.",
            acr=wanted,
            max_age=max_age,
        )
    if auth.older_than(max_age, now):
        raise StepUpRequired(
            f"This action needs a sign-in from the last {max_age} seconds; yours is "
            f"{now - auth.auth_time} seconds old. Sign in again, then retry.",
            acr=wanted,
            max_age=max_age,
        )
