"""Terminal I/O in one place: what a person sees goes to stderr (stdout is for the data a
command prints, so `$(limen token)` stays clean), colours only on a terminal and never with
NO_COLOR, and prompts that refuse to run without a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from .errors import UsageError

NO_TERMINAL_HINT = "Run it in a terminal, or give the value another way (see `limen login --help`)."


def is_interactive() -> bool:
    """True when stdin and stderr are terminals (someone can read and answer a prompt)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def wants_color(env: Mapping[str, str] | None = None) -> bool:
    """Colours on a terminal unless NO_COLOR is set to anything (https://no-color.org)."""
    env = os.environ if env is None else env
    return is_live() and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def is_live() -> bool:
    """True when stderr is a terminal that can rewrite its current line (spinners)."""
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


class Console:
    """Messages for people (stderr): ``say`` for the flow of a command, ``note`` for context,
    ``warn`` for problems that do not stop it; ``prompt``/``secret`` need a terminal."""

    def __init__(self, interactive: bool | None = None) -> None:
        self.interactive = is_interactive() if interactive is None else interactive

    @property
    def color(self) -> bool:
        return wants_color()

    @property
    def live(self) -> bool:
        return is_live()

    def say(self, message: str = "", **style: Any) -> None:
        """A line for the person at the terminal (stderr), styled only when colours are on."""
        click.echo(click.style(message, **style) if style and self.color else message, err=True)

    def note(self, message: str) -> None:
        """Context that is not the command's output (stderr)."""
        click.echo(message, err=True)

    def warn(self, message: str) -> None:
        prefix = click.style("Warning: ", fg="yellow") if self.color else "Warning: "
        click.echo(prefix + message, err=True)

    def status_line(self, message: str) -> None:
        """Rewrite the current line (spinners); only meaningful on a terminal."""
        click.echo(f"\r\033[K{message}", nl=False, err=True)

    def clear_line(self) -> None:
        click.echo("\r\033[K", nl=False, err=True)

    def _require_tty(self, what: str, hint: str | None) -> None:
        if not self.interactive:
            raise UsageError(
                f"limen needs a terminal to ask for the {what.lower()}, and this is not one.",
                hint or NO_TERMINAL_HINT,
            )

    def prompt(self, text: str, default: str | None = None, *, hint: str | None = None) -> str:
        """Ask for a value; without a terminal, fail with ``hint`` (how else to give it)."""
        self._require_tty(text, hint)
        return str(click.prompt(text, default=default, err=True)).strip()

    def secret(self, text: str, *, hint: str | None = None) -> str:
        """A hidden prompt (nothing echoed); without a terminal, fail with ``hint``."""
        self._require_tty(text, hint)
        return str(click.prompt(text, hide_input=True, err=True)).strip()


def read_stdin_secret(what: str) -> str:
    """One line from stdin (for --secret-stdin); refuses an empty answer."""
    value = sys.stdin.readline().strip()
    if not value:
        raise UsageError(f"--secret-stdin was given but standard input had no {what}.")
    return value
