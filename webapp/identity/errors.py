"""Typed failures of the identity core. Each carries what a caller needs to answer well."""

from __future__ import annotations


class IdentityError(Exception):
    """Base of every identity failure; ``detail`` is safe to show to the client."""

    code = "identity_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidCredentials(IdentityError):
    """Wrong email or password. Deliberately does not say which."""

    code = "invalid_credentials"


class AccountLocked(IdentityError):
    """The account is locked; ``retry_after`` seconds, or None when an admin locked it."""

    code = "account_locked"

    def __init__(self, retry_after: int | None) -> None:
        if retry_after is None:
            detail = "This account has been locked by an administrator. Ask them to unlock it."
        else:
            minutes = max(1, round(retry_after / 60))
            detail = (
                "This account is locked after too many failed sign-in attempts. Try again in "
                f"about {minutes} minute{'s' if minutes != 1 else ''}, or ask an administrator "
                "to unlock it."
            )
        super().__init__(detail)
        self.retry_after = retry_after


class Busy(IdentityError):
    """Too much of a bounded resource is in use (password checks); retry shortly."""

    code = "busy"

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class AccountDisabled(IdentityError):
    """The account was disabled by an administrator."""

    code = "account_disabled"


class InvalidToken(IdentityError):
    """A bearer credential was rejected; ``cause`` names the class of problem."""

    code = "invalid_token"

    def __init__(self, detail: str, cause: str = "invalid") -> None:
        super().__init__(detail)
        self.cause = cause


class InvalidRefreshToken(IdentityError):
    """The refresh token is unknown, expired or revoked."""

    code = "invalid_grant"


class RefreshReuseDetected(InvalidRefreshToken):
    """A rotated refresh token came back: its family and session are revoked."""

    code = "invalid_grant"


class NotAMember(IdentityError):
    """A session asked to act in an organisation the person does not belong to (or that does
    not exist: the two are not told apart, so names cannot be probed)."""

    code = "not_a_member"


class PermissionDenied(IdentityError):
    """The principal may not do this; ``permission`` names what is missing."""

    code = "forbidden"

    def __init__(self, detail: str, permission: str | None = None) -> None:
        super().__init__(detail)
        self.permission = permission


class NotFound(IdentityError):
    """No such thing, or not the caller's to see."""

    code = "not_found"


class Conflict(IdentityError):
    """The change clashes with what exists (e.g. a name already taken)."""

    code = "conflict"


class PolicyViolation(IdentityError):
    """Input that is well-formed but breaks a rule (weak password, scope beyond role)."""

    code = "policy_violation"


class MfaRequired(IdentityError):
    """The password was right; the account also needs a one-time code."""

    code = "mfa_required"

    def __init__(self, ticket: str) -> None:
        super().__init__(
            "This account uses two-step verification: send the 6-digit code from your "
            "authenticator app (or a recovery code) as 'otp'."
        )
        self.ticket = ticket


class EmailNotVerified(IdentityError):
    """The password was right, but this deployment signs in only verified addresses."""

    code = "email_not_verified"

    def __init__(self) -> None:
        super().__init__(
            "Confirm your email address first: open the link we sent you. Ask for a new link "
            "if it expired or never arrived."
        )


class LinkInvalid(IdentityError):
    """A mailed one-time link that is unknown (mistyped, tampered), used, or expired."""

    code = "link_invalid"


class StepUpRequired(IdentityError):
    """RFC 9470: the person's sign-in behind this credential is too old or too weak for the
    action; signing in again (``max_age`` seconds ago at most, meeting ``acr``) fixes it."""

    code = "insufficient_user_authentication"

    def __init__(self, detail: str, *, acr: str, max_age: int) -> None:
        super().__init__(detail)
        self.acr = acr
        self.max_age = max_age


class PersonRequired(IdentityError):
    """The action needs a person's recent sign-in, and the credential stands for no person's
    sign-in at all (an API key, a client's own client_credentials token)."""

    code = "person_required"
