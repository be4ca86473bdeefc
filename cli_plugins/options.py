"""Options shared by commands (--profile, --server, --storage, --json) and access to the
invocation's Runtime from inside a command."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from .runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class State:
    """ctx.obj of the `limen` group: flags gathered from any level, then the Runtime."""

    profile: str | None = None
    server: str | None = None
    storage: str | None = None
    runtime: Runtime | None = None


def _remember(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            setattr(ctx.ensure_object(State), name, value)
        return value

    return callback


def profile_options(f: F) -> F:
    """--profile and --server, accepted before or after the command name."""
    f = click.option(
        "--server",
        metavar="URL",
        expose_value=False,
        callback=_remember("server"),
        help="Server base URL (overrides LIMEN_SERVER and the profile).",
    )(f)
    from .completion import complete_profiles

    return click.option(
        "--profile",
        metavar="NAME",
        expose_value=False,
        callback=_remember("profile"),
        shell_complete=complete_profiles,
        help="Profile to use (overrides LIMEN_PROFILE and .limen-profile).",
    )(f)


def storage_option(f: F) -> F:
    return click.option(
        "--storage",
        type=click.Choice(["keyring", "file"]),
        expose_value=False,
        callback=_remember("storage"),
        help="Where to keep credentials (default: OS keyring when usable, else a 0600 file).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)


def runtime() -> Runtime:
    """This invocation's Runtime (built once, closed when the command ends)."""
    ctx = click.get_current_context()
    state = ctx.ensure_object(State)
    if state.runtime is None:
        from .config import Flags
        from .runtime import Runtime

        flags = Flags(profile=state.profile, server=state.server, storage=state.storage)
        state.runtime = Runtime(flags=flags)
        ctx.find_root().call_on_close(state.runtime.close)
    return state.runtime
