"""Terminal I/O in one place: what a person sees, what goes to stderr, and prompts that
refuse to run without a terminal."""

from __future__ import annotations

import sys
from typing import Any

import click

from .errors import UsageError


def is_interactive() -> bool:
    """True when both stdin and stdout are terminals (someone can answer a prompt)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


class Console:
    """Messages for people go to stdout during login and to stderr otherwise (``notes``)."""

    def __init__(self, interactive: bool | None = None) -> None:
        self.interactive = is_interactive() if interactive is None else interactive

    @property
    def color(self) -> bool:
        return sys.stdout.isatty()

    def say(self, message: str = "", **style: Any) -> None:
        """A line for the person at the terminal (stdout)."""
        click.echo(click.style(message, **style) if style and self.color else message)

    def note(self, message: str) -> None:
        """Context that is not the command's output (stderr)."""
        click.echo(message, err=True)

    def warn(self, message: str) -> None:
        click.echo(click.style("Warning: ", fg="yellow") + message, err=True)

    def status_line(self, message: str) -> None:
        """Rewrite the current line (spinners); only meaningful on a terminal."""
        click.echo(f"\r\033[K{message}", nl=False)

    def clear_line(self) -> None:
        click.echo("\r\033[K", nl=False)

    def _require_tty(self, what: str, hint: str | None = None) -> None:
        if not self.interactive:
            raise UsageError(
                f"{what} needs a terminal to ask you, and this is not one.",
                hint or "Pass the value through the environment or --secret-stdin instead.",
            )

    def prompt(self, text: str, default: str | None = None, hint: str | None = None) -> str:
        """A visible prompt; ``hint`` says how to give the value without a terminal."""
        self._require_tty(text, hint)
        return str(click.prompt(text, default=default, err=False)).strip()

    def secret(self, text: str) -> str:
        """A hidden prompt (nothing echoed)."""
        self._require_tty(text)
        return str(click.prompt(text, hide_input=True)).strip()


def read_stdin_secret(what: str) -> str:
    """One line from stdin (for --secret-stdin); refuses an empty answer."""
    value = sys.stdin.readline().strip()
    if not value:
        raise UsageError(f"--secret-stdin was given but standard input had no {what}.")
    return value
