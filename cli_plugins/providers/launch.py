"""Opening the sign-in URL: the command in LIMEN_BROWSER when set (like BROWSER for Python's
webbrowser), else the system's browser when one can be opened here."""

from __future__ import annotations

import shlex
import subprocess
import threading
import webbrowser
from collections.abc import Callable, Mapping

from ..errors import UsageError
from .auto import BROWSER_VARIABLE, can_open_browser


def browser_argv(command: str, url: str) -> list[str]:
    """The command line to run: ``%s`` in an argument stands for the URL, else the URL is the
    last argument. No shell is involved, so the URL is always one argument."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(
            f"{BROWSER_VARIABLE} is not a valid command line ({exc}).",
            f'Set it to a command such as "firefox --new-window %s", or unset {BROWSER_VARIABLE}.',
        ) from exc
    if not argv:
        raise UsageError(f"{BROWSER_VARIABLE} is empty.", "Set it to a command, or unset it.")
    if any("%s" in arg for arg in argv):
        return [arg.replace("%s", url) for arg in argv]
    return [*argv, url]


def run_browser_command(command: str, url: str, warn: Callable[[str], None]) -> bool:
    """Start the command in the background (it may keep running as the browser); False, with
    a warning, when it cannot be started at all."""
    argv = browser_argv(command, url)
    try:
        proc = subprocess.Popen(  # noqa: S603 (the user's own command, without a shell)
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        warn(f"Could not run {BROWSER_VARIABLE} command {argv[0]!r} ({exc.strerror}).")
        return False
    threading.Thread(target=proc.wait, daemon=True).start()  # reaped whenever it ends
    return True


def open_sign_in_url(
    url: str, env: Mapping[str, str], interactive: bool, warn: Callable[[str], None]
) -> bool:
    """True when a browser was asked to open ``url``."""
    command = env.get(BROWSER_VARIABLE, "").strip()
    if command:
        return run_browser_command(command, url, warn)
    if can_open_browser(env, interactive):
        return webbrowser.open(url)
    return False
