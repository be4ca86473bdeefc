"""The default choice of `limen login`: the browser when one can be opened (or a browser
command is configured in LIMEN_BROWSER), else the device flow (SSH sessions, no display, no
terminal)."""

from __future__ import annotations

import sys
import webbrowser
from collections.abc import Mapping

from ..hookspecs import hookimpl
from . import LoginContext

SSH_VARIABLES = ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")
BROWSER_VARIABLE = "LIMEN_BROWSER"


def can_open_browser(env: Mapping[str, str], interactive: bool) -> bool:
    """True when a browser command is configured, or a person is at a terminal on a machine
    with a usable graphical browser."""
    if env.get(BROWSER_VARIABLE, "").strip():
        return True  # an explicit choice: it knows how to reach the person's browser
    if not interactive or any(env.get(name) for name in SSH_VARIABLES):
        return False
    if sys.platform not in ("darwin", "win32") and not (
        env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


@hookimpl(trylast=True)
def choose_default_provider(context: LoginContext) -> str:
    return "browser" if can_open_browser(context.env, context.interactive) else "device"
