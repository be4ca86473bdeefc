"""Step-up authentication (RFC 9470) as the CLI and the SDK see it.

A server answers a sensitive request from a sign-in that is too old or too weak with ``401``
and ``WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values="...",
max_age="N"``. Refreshing cannot help (a refreshed token keeps the sign-in's time): only a
fresh sign-in can. `limen api` does that sign-in by itself where a person can take part (a
browser login, in a terminal or with LIMEN_BROWSER) and retries once; elsewhere, and in the
SDK, ``StepUpRequired`` (exit code 3) says which command does it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import AuthRequired

if TYPE_CHECKING:
    import httpx

ERROR = "insufficient_user_authentication"
_PARAM = re.compile(r'([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
MAX_AGE_LIMIT = 10**9


@dataclass(frozen=True)
class Challenge:
    """What a step-up challenge asks for: a sign-in at most ``max_age`` seconds old (None:
    any age), meeting one of ``acr_values`` (may be empty)."""

    max_age: int | None
    acr_values: str
    description: str

    def login_options(self) -> dict[str, object]:
        """The `limen login` options (``--max-age 0``, ``--acr-values``) that answer it: a
        sign-in made now is the freshest there is."""
        options: dict[str, object] = {"max_age": 0}
        if self.acr_values:
            options["acr_values"] = self.acr_values
        return options

    def login_command(self, profile: str | None) -> str:
        """The command line, in backticks, that answers this challenge."""
        words = ["limen", "login", "--max-age", "0"]
        if self.acr_values:
            words += ["--acr-values", self.acr_values]
        if profile and profile != "default":
            words += ["--profile", profile]
        return "`" + " ".join(words) + "`"


def challenge_of(response: httpx.Response) -> Challenge | None:
    """The step-up challenge of a 401, or None when the response is not one."""
    if response.status_code != 401:
        return None
    header = response.headers.get("WWW-Authenticate", "")
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    params = {m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _PARAM.finditer(rest)}
    if params.get("error") != ERROR:
        return None
    raw_age = params.get("max_age", "")
    max_age = int(raw_age) if raw_age.isdigit() and int(raw_age) <= MAX_AGE_LIMIT else None
    acr = " ".join(v for v in params.get("acr_values", "").split() if v.isprintable())
    return Challenge(max_age, acr[:200], params.get("error_description", "")[:300])


class StepUpRequired(AuthRequired):
    """The server wants a fresh (or stronger) sign-in for this action (RFC 9470)."""

    code = "step_up_required"

    def __init__(self, what: str, challenge: Challenge, profile: str | None = None) -> None:
        reason = challenge.description or "it needs a recent sign-in"
        super().__init__(
            f"{what} needs a fresh sign-in: {reason}",
            f"Sign in again with {challenge.login_command(profile)}, then retry.",
        )
        self.challenge = challenge

    def with_login_hint(self, profile: str | None, provider: str | None = None) -> AuthRequired:
        """The hint already names the command (with this profile)."""
        self.hint = f"Sign in again with {self.challenge.login_command(profile)}, then retry."
        return self
