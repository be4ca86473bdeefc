"""Exit codes and the errors the CLI reports: each names what happened and the next step."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of `limen` (documented in docs/cli.md)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    AUTH_REQUIRED = 3
    FORBIDDEN = 4


class LimenError(Exception):
    """A failure shown to the user as `Error: <message>` plus a hint, never a traceback."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The text printed on stderr."""
        return f"Error: {self.message}" + (f"\n{self.hint}" if self.hint else "")


class UsageError(LimenError):
    """The command line asks for something impossible or contradictory."""

    exit_code = ExitCode.USAGE


class AuthRequired(LimenError):
    """Not logged in, or the session expired or was revoked: `limen login` is the way out."""

    exit_code = ExitCode.AUTH_REQUIRED


class SessionEnded(AuthRequired):
    """The refresh token was refused (revoked, reused or expired)."""


class Forbidden(LimenError):
    """The credential is valid but lacks a permission (HTTP 403)."""

    exit_code = ExitCode.FORBIDDEN

    def __init__(self, message: str, hint: str | None = None, permission: str | None = None):
        super().__init__(message, hint)
        self.permission = permission


class ServerUnreachable(LimenError):
    """No HTTP answer at all: connection refused, DNS, TLS or timeout."""


class LoginCancelled(LimenError):
    """The user interrupted a login (Ctrl-C) or refused it in the browser."""


class InsecureFile(LimenError):
    """A credentials file others can read (or that someone else owns): refused, like ssh."""


class StorageError(LimenError):
    """The credential store (OS keyring or file) failed."""
