"""`limen token` and `limen export`: a fresh access token for other programs."""

from __future__ import annotations

import shlex
from typing import Any

import click

from ..options import json_option, profile_options, runtime
from ..output import print_json
from ..runtime import Runtime


def token_info(rt: Runtime) -> dict[str, Any]:
    """{access_token, token_type, expires_at} (expires_at: epoch seconds, or None)."""
    env = rt.manager.env_credential()
    if env is not None:
        return {"access_token": env.value, "token_type": "Bearer", "expires_at": None}
    creds = rt.manager.current()
    expires = int(creds.expires_at) if creds.expires_at is not None else None
    return {
        "access_token": creds.access_token,
        "token_type": creds.token_type,
        "expires_at": expires,
    }


@click.command()
@profile_options
@json_option
def token(as_json: bool) -> None:
    """Print a valid access token (renewed first if it is about to expire)."""
    info = token_info(runtime())
    if as_json:
        print_json(info)
    else:
        click.echo(info["access_token"])


@click.command()
@profile_options
@click.option(
    "--format", "fmt", type=click.Choice(["env", "json"]), default="env", show_default=True
)
@json_option
def export(fmt: str, as_json: bool) -> None:
    """Print the server and a fresh access token as shell exports or JSON."""
    rt = runtime()
    info = token_info(rt)
    data = {"server": rt.settings.server, "profile": rt.settings.profile, **info}
    if as_json or fmt == "json":
        print_json(data)
        return
    click.echo(f"export LIMEN_SERVER={shlex.quote(rt.settings.server)}")
    click.echo(f"export LIMEN_TOKEN={shlex.quote(str(info['access_token']))}")
    if info["expires_at"]:
        click.echo(f"# the token expires at {info['expires_at']} (epoch seconds); run again then")
