"""`limen profiles list|use|remove`: several servers and accounts side by side."""

from __future__ import annotations

from typing import Any

import click

from ..config import Flags, check_profile_name
from ..credentials import open_store
from ..errors import LimenError, UsageError
from ..options import json_option, runtime
from ..output import print_json, print_table
from ..runtime import Runtime
from .logout import revoke_credentials


def _rows(rt: Runtime) -> list[dict[str, Any]]:
    config, active = rt.config, rt.settings.profile
    rows = []
    for name in sorted(set(config.profiles) | {active}):
        table = config.profile(name)
        try:
            store, _ = open_store(table.get("storage"), rt.settings.config_dir)
            logged_in: bool | None = store.load(name) is not None
        except LimenError:
            logged_in = None  # unreadable store: say unknown rather than fail the listing
        rows.append(
            {
                "name": name,
                "active": name == active,
                "default": name == config.default_profile,
                "server": table.get("server"),
                "user": table.get("user"),
                "provider": table.get("provider"),
                "storage": table.get("storage"),
                "logged_in": logged_in,
            }
        )
    return rows


@click.group()
def profiles() -> None:
    """List, select and remove profiles."""


@profiles.command("list")
@json_option
def list_profiles(as_json: bool) -> None:
    """List profiles; * marks the one in use here."""
    rt = runtime()
    rows = _rows(rt)
    if as_json:
        print_json(
            {
                "active": rt.settings.profile,
                "active_source": rt.settings.profile_source,
                "profiles": rows,
            }
        )
        return
    print_table(
        ["", "profile", "server", "user", "logged in", "storage"],
        [
            [
                "*" if r["active"] else "",
                r["name"] + (" (default)" if r["default"] else ""),
                r["server"],
                r["user"],
                {True: "yes", False: "no", None: "?"}[r["logged_in"]],
                r["storage"],
            ]
            for r in rows
        ],
    )
    click.echo(f"In use: {rt.settings.profile} (from {rt.settings.profile_source})", err=True)


@profiles.command("use")
@click.argument("name")
def use_profile(name: str) -> None:
    """Make NAME the default profile."""
    rt = runtime()
    check_profile_name(name, "the argument")
    if name not in rt.config.profiles:
        known = ", ".join(sorted(rt.config.profiles)) or "none yet"
        raise UsageError(
            f"No profile named {name!r} (known: {known}).",
            f"Create it by logging in: `limen login --profile {name} --server URL`.",
        )
    rt.config.default_profile = name
    rt.config.save()
    click.echo(f"Default profile is now {name!r}.")
    for variable in ("LIMEN_PROFILE",):
        if rt.env.get(variable):
            click.echo(
                f"Note: {variable}={rt.env[variable]} still overrides it in this shell.", err=True
            )


@profiles.command("remove")
@click.argument("name")
def remove_profile(name: str) -> None:
    """Log NAME out (revoking on the server when possible) and delete it."""
    rt = runtime()
    check_profile_name(name, "the argument")
    table = rt.config.profile(name)
    store, _ = open_store(table.get("storage"), rt.settings.config_dir)
    creds = store.load(name)
    if name not in rt.config.profiles and creds is None:
        raise UsageError(f"No profile named {name!r}.")
    if creds is not None:
        try:
            sub = Runtime(
                flags=Flags(profile=name, server=creds.server),
                env=rt.env,
                cwd=rt.cwd,
                console=rt.console,
            )
            try:
                click.echo(f"{name}: {revoke_credentials(sub, creds)}.")
            finally:
                sub.close()
        except LimenError as exc:
            click.echo(f"Warning: could not revoke on {creds.server}: {exc.message}", err=True)
        store.delete(name)
    rt.config.remove_profile(name)
    rt.config.save()
    click.echo(f"Removed profile {name!r}.")
