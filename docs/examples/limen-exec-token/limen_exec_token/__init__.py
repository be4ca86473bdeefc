"""The `exec` login provider: run a command, use what it prints as the bearer credential."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from typing import Any

from cli_plugins.plugin_sdk import (
    Credentials,
    LimenError,
    LoginContext,
    Provider,
    UsageError,
    hookimpl,
)

ENV_COMMAND = "LIMEN_EXEC_TOKEN_COMMAND"
TIMEOUT = 30


def run_command(command: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    """Run ``command`` (no shell) and parse its output as a token response."""
    argv = shlex.split(command)
    if not argv:
        raise UsageError("The exec provider's command is empty.")
    try:
        done = subprocess.run(  # noqa: S603 (the user's own command, without a shell)
            argv, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise LimenError(f"The token command {argv[0]!r} was not found.") from exc
    except subprocess.TimeoutExpired as exc:
        raise LimenError(f"The token command did not finish within {timeout:.0f} s.") from exc
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no error output"]
        raise LimenError(f"The token command exited with status {done.returncode}: {tail[0]}")
    return parse_output(done.stdout)


def parse_output(output: str) -> dict[str, Any]:
    """A bare token, or a JSON object with at least ``access_token``."""
    text = output.strip()
    if not text:
        raise LimenError("The token command printed nothing.")
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise LimenError(f"The token command printed invalid JSON: {exc}") from exc
        if not isinstance(body, dict) or not body.get("access_token"):
            raise LimenError("The token command's JSON has no access_token.")
        return body
    if len(text.split()) != 1:
        raise LimenError("The token command must print one token (or a JSON object).")
    return {"access_token": text, "token_type": "Bearer"}


class ExecTokenProvider(Provider):
    name = "exec"
    help = "Run a command that prints a token (-o command=... or LIMEN_EXEC_TOKEN_COMMAND)."

    def login(self, context: LoginContext) -> Credentials:
        command = context.option("command") or context.env.get(ENV_COMMAND)
        if not command:
            raise UsageError(
                "The exec provider needs a command.",
                f'Pass -o command="..." or set {ENV_COMMAND}.',
            )
        return context.credentials(run_command(command), kind="exec")

    def renew(self, context: LoginContext, credentials: Credentials) -> Credentials | None:
        """Run LIMEN_EXEC_TOKEN_COMMAND again when it is set; else a new login is needed."""
        command = context.env.get(ENV_COMMAND)
        if not command:
            return None
        renewed = context.credentials(run_command(command), kind="exec")
        renewed.subject, renewed.email = credentials.subject, credentials.email
        return renewed


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    register(ExecTokenProvider())
