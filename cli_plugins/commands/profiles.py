"""`limen profiles list|use|remove`: several servers and accounts side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..completion import complete_profiles
from ..config import Flags, check_profile_name
from ..credentials import Credentials, open_store
from ..errors import AuthRequired, LimenError, UsageError
from ..options import json_option, runtime
from ..output import print_json, print_table
from .logout import revoke_credentials

if TYPE_CHECKING:
    from ..runtime import Runtime


def _sub_runtime(rt: Runtime, name: str, creds: Credentials) -> Runtime:
    """A Runtime for another profile, on the server its credentials belong to."""
    from ..runtime import Runtime

    flags = Flags(profile=name, server=creds.server)
    return Runtime(flags=flags, env=_without_env_credentials(rt), cwd=rt.cwd, console=rt.console)


def _without_env_credentials(rt: Runtime) -> dict[str, str]:
    return {k: v for k, v in rt.env.items() if k not in ("LIMEN_TOKEN", "LIMEN_API_KEY")}


def _session_state(rt: Runtime, name: str, creds: Credentials) -> tuple[bool | None, str | None]:
    """Whether the server still accepts the profile's session (renewing it if needed):
    (True, None), (False, why) or (None, why) when the server could not tell."""
    sub = _sub_runtime(rt, name, creds)
    try:
        response = sub.request("GET", sub.api_url("me"))
        if response.status_code != 403:  # 403: a valid credential that may not read /me
            sub.manager.check(response)
        return True, None
    except AuthRequired as exc:
        return False, exc.message
    except LimenError as exc:
        return None, exc.message
    finally:
        sub.close()


def _rows(rt: Runtime) -> list[dict[str, Any]]:
    config, active = rt.config, rt.settings.profile
    rows = []
    for name in sorted(set(config.profiles) | {active}):
        table = config.profile(name)
        logged_in: bool | None
        reason: str | None
        try:
            store, _ = open_store(table.get("storage"), rt.settings.config_dir)
            creds = store.load(name)
        except LimenError as exc:  # unreadable store: say unknown rather than fail the list
            logged_in, reason = None, exc.message
        else:
            if creds is None:
                logged_in, reason = False, "no stored credentials"
            else:
                logged_in, reason = _session_state(rt, name, creds)
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
                "reason": reason,
            }
        )
    return rows


@click.group()
def profiles() -> None:
    """List, select and remove profiles."""


@profiles.command("list")
@json_option
def list_profiles(as_json: bool) -> None:
    """List profiles; * marks the one in use here. Asks each profile's server whether its
    session still works."""
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
                {True: "yes", False: "no", None: "unknown"}[r["logged_in"]],
                r["storage"],
            ]
            for r in rows
        ],
    )
    click.echo(f"In use: {rt.settings.profile} (from {rt.settings.profile_source})", err=True)


@profiles.command("use")
@click.argument("name", shell_complete=complete_profiles)
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
@click.argument("name", shell_complete=complete_profiles)
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
            sub = _sub_runtime(rt, name, creds)
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
