"""Exit codes and the errors the CLI reports: each names what happened and the next step."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Process exit codes of `limen` (documented in docs/cli.md)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    AUTH_REQUIRED = 3
    FORBIDDEN = 4


def login_command(profile: str | None = None, provider: str | None = None) -> str:
    """The `limen login` command line that signs this profile in again, in backticks."""
    words = ["limen", "login"]
    if provider:
        words += ["--provider", provider]
    if profile and profile != "default":
        words += ["--profile", profile]
    return "`" + " ".join(words) + "`"


class LimenError(Exception):
    """A failure shown to the user as `Error: <message>` plus a hint, never a traceback."""

    exit_code: ExitCode = ExitCode.ERROR
    code = "error"  # the machine-readable kind, in --json error documents

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The text printed on stderr."""
        return f"Error: {self.message}" + (f"\n{self.hint}" if self.hint else "")

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON (printed on stderr when the command was given --json)."""
        return {
            "type": self.code,
            "message": self.message,
            "hint": self.hint,
            "exit_code": int(self.exit_code),
        }


class UsageError(LimenError):
    """The command line asks for something impossible or contradictory."""

    exit_code = ExitCode.USAGE
    code = "usage"


class AuthRequired(LimenError):
    """Not logged in, or the session expired or was revoked: `limen login` is the way out.
    Without a hint, the CLI adds the `limen login` command for the profile in use."""

    exit_code = ExitCode.AUTH_REQUIRED
    code = "auth_required"
    suggest_login = True  # False when `limen login` itself failed and the hint says why

    def with_login_hint(self, profile: str | None, provider: str | None = None) -> AuthRequired:
        """Make sure the hint names the command that fixes it, with this profile."""
        if self.suggest_login and (not self.hint or "limen login" not in self.hint):
            again = f"Run {login_command(profile, provider)}."
            self.hint = f"{self.hint} {again}" if self.hint else again
        return self


class SessionEnded(AuthRequired):
    """The refresh token was refused (revoked, reused or expired)."""

    code = "session_ended"


class Forbidden(LimenError):
    """The credential is valid but lacks a permission (HTTP 403)."""

    exit_code = ExitCode.FORBIDDEN
    code = "forbidden"

    def __init__(self, message: str, hint: str | None = None, permission: str | None = None):
        super().__init__(message, hint)
        self.permission = permission

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "permission": self.permission}


class ServerUnreachable(LimenError):
    """No HTTP answer at all: connection refused, DNS, TLS or timeout."""

    code = "server_unreachable"


class LoginCancelled(LimenError):
    """The user interrupted a login (Ctrl-C) or refused it in the browser."""

    code = "login_cancelled"


class InsecureFile(LimenError):
    """A credentials file others can read (or that someone else owns): refused, like ssh."""

    code = "insecure_file"


class StorageError(LimenError):
    """The credential store (OS keyring or file) failed."""

    code = "storage"
