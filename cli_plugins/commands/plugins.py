"""`limen plugins list|disable|enable`: what is installed in the ``limen.plugins`` entry point
group, whether it loaded, and a way to turn one off without uninstalling it."""

from __future__ import annotations

import os
from typing import Any

import click

from ..completion import complete_plugins
from ..config import Config, config_dir
from ..errors import UsageError
from ..options import json_option
from ..output import print_json, print_table
from ..plugins import NO_PLUGINS_VARIABLE, PluginRecord, plugin_records, plugins_disabled


@click.group()
def plugins() -> None:
    """List installed plugins; disable or enable one."""


@plugins.command("list")
@json_option
def list_plugins(as_json: bool) -> None:
    """Installed plugins, their distribution, state and hooks (built-ins are not listed)."""
    rows: list[dict[str, Any]] = [
        {
            "name": r.name,
            "distribution": r.distribution,
            "version": r.version,
            "target": r.target,
            "status": r.status,
            "problem": r.problem,
            "hooks": r.hooks,
        }
        for r in plugin_records()
    ]
    if as_json:
        print_json({"plugins": rows})
        return
    if not rows:
        click.echo("No plugins installed (the built-in providers and commands are always on).")
        return
    print_table(
        ["name", "distribution", "version", "status", "hooks or problem"],
        [
            [
                r["name"],
                r["distribution"],
                r["version"],
                r["status"],
                r["problem"] or ", ".join(r["hooks"]),
            ]
            for r in rows
        ],
    )


def _find(name: str) -> PluginRecord | None:
    return next((r for r in plugin_records() if name in (r.name, r.distribution)), None)


def _set_disabled(name: str, disabled: bool) -> Config:
    config = Config.load(config_dir(os.environ))
    record = _find(name)
    known = {r.name for r in plugin_records()}
    key = record.name if record is not None else name
    if record is None and name not in config.disabled_plugins:
        raise UsageError(
            f"No installed plugin is named {name!r}.",
            f"Installed: {', '.join(sorted(known)) or 'none'} (see `limen plugins list`).",
        )
    names = set(config.disabled_plugins) - {key}
    config.disabled_plugins = sorted(names | {key} if disabled else names)
    config.save()
    return config


@plugins.command("disable")
@click.argument("name", shell_complete=complete_plugins)
def disable_plugin(name: str) -> None:
    """Stop loading plugin NAME (entry point or distribution name); it stays installed."""
    _set_disabled(name, True)
    click.echo(f"Disabled the limen plugin {name!r}; `limen plugins enable {name}` undoes it.")


@plugins.command("enable")
@click.argument("name", shell_complete=complete_plugins)
def enable_plugin(name: str) -> None:
    """Load plugin NAME again."""
    _set_disabled(name, False)
    click.echo(f"Enabled the limen plugin {name!r}.")
    if plugins_disabled():
        click.echo(f"Note: {NO_PLUGINS_VARIABLE} is set, so no plugin loads in this shell.")
