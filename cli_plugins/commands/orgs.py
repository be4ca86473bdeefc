"""`limen org list` and `limen org switch`: the organisations you belong to, and which one
your session acts in (the access token's ``org`` claim)."""

from __future__ import annotations

from typing import Any

import click

from ..errors import UsageError
from ..options import json_option, profile_options, runtime
from ..output import print_json


def _my_orgs() -> dict[str, Any]:
    rt = runtime()
    rt.manager.access_token()
    response = rt.manager.check(
        rt.request("GET", rt.api_url("me/orgs")), what="GET /api/v1/me/orgs"
    )
    return dict(response.json())


@click.group()
def org() -> None:
    """Organisations: which you belong to, and which one your session acts in."""


@org.command("list")
@profile_options
@json_option
def list_orgs(as_json: bool) -> None:
    """List your organisations; `*` marks the one this session acts in."""
    body = _my_orgs()
    if as_json:
        print_json(body)
        return
    if not body["items"]:
        click.echo("You are not a member of any organisation.")
        return
    for item in body["items"]:
        mark = "*" if item["current"] else " "
        teams = ", ".join(item["teams"]) or "-"
        click.echo(f"{mark} {item['id']}\t{item['name']}\tteams: {teams}")


@org.command("switch")
@click.argument("organization", required=False)
@click.option("--none", "leave", is_flag=True, help="Act in no organisation.")
@profile_options
@json_option
def switch(organization: str | None, leave: bool, as_json: bool) -> None:
    """Make your session act in ORGANIZATION: new tokens carry it as their `org` claim.

    Refused (exit 4) unless you are a member; the session is unchanged then.
    """
    if bool(organization) == leave:
        raise UsageError("Name one organisation, or pass --none (not both).")
    chosen = "" if leave else str(organization)
    creds = runtime().manager.switch_org(chosen)
    result = {"org": chosen or None, "expires_at": creds.expires_at}
    if as_json:
        print_json(result)
    elif chosen:
        click.echo(f"Your session now acts in organisation {chosen!r}.")
    else:
        click.echo("Your session now acts in no organisation.")
