"""Every hook of the `limen` CLI. Plugins implement them with ``@hookimpl`` and are found
through the ``limen.plugins`` entry point group; built-ins use the very same hooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click
import pluggy

if TYPE_CHECKING:
    from .providers import LoginContext, Provider

hookspec = pluggy.HookspecMarker("limen")
hookimpl = pluggy.HookimplMarker("limen")


@hookspec
def register_providers(register: Callable[[Provider], None]) -> None:
    """Call ``register(provider)`` for each login provider offered; returns nothing."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to ``cli`` (the `limen` group); returns nothing."""


@hookspec(firstresult=True)
def choose_default_provider(context: LoginContext) -> str | None:
    """Returns the provider name `limen login` uses when none is given, or None to defer."""
