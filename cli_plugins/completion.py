"""Shell completion: `limen completion bash|zsh|fish` prints the script (click's own), and
these callbacks complete profiles, providers, plugins and API key names. A completion never
prompts or fails: anything that goes wrong completes nothing."""

from __future__ import annotations

import os
from collections.abc import Callable

import click
from click.shell_completion import CompletionItem, get_completion_class

from .errors import LimenError

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_LIMEN_COMPLETE"

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def _items(names: list[str], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(n) for n in sorted(set(names)) if n.startswith(incomplete)]


def complete_profiles(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from .config import Config, config_dir

    try:
        return _items(list(Config.load(config_dir(os.environ)).profiles), incomplete)
    except LimenError:
        return []


def complete_providers(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from .plugins import collect_providers, plugin_manager

    return _items(list(collect_providers(plugin_manager())), incomplete)


def complete_plugins(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from .plugins import plugin_records

    return _items([r.name for r in plugin_records()], incomplete)


def complete_key_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The names of your live API keys (asks the server; nothing when that fails)."""
    from .config import Flags
    from .console import Console
    from .runtime import Runtime

    state = ctx.find_root().obj  # the group's State (options.State), when flags were given
    flags = Flags(
        profile=getattr(state, "profile", None),
        server=getattr(state, "server", None),
        storage=getattr(state, "storage", None),
    )
    rt = Runtime(flags=flags, console=Console(interactive=False))
    try:
        response = rt.request("GET", rt.api_url("api-keys"), timeout=3)
        items = response.json().get("items", []) if response.is_success else []
    except Exception:  # completion must never print an error into the shell
        return []
    finally:
        rt.close()
    live = [str(k.get("name")) for k in items if k.get("status") in ("active", "grace")]
    return _items(live, incomplete)


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash:  eval "$(limen completion bash)"          (in ~/.bashrc)
    zsh:   eval "$(limen completion zsh)"           (in ~/.zshrc, after compinit)
    fish:  limen completion fish > ~/.config/fish/completions/limen.fish
    """
    root = click.get_current_context().find_root().command
    cls = get_completion_class(shell)
    if cls is None:  # click ships all three; a future click without one is a bug here
        raise LimenError(f"No completion support for {shell} in this click version.")
    click.echo(cls(root, {}, "limen", COMPLETE_VAR).source())
