"""`limen keys create|list|rotate|revoke`: API keys of the signed-in user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..completion import complete_key_names
from ..errors import UsageError
from ..options import json_option, profile_options, runtime
from ..output import print_json, print_table

if TYPE_CHECKING:
    from ..runtime import Runtime

LIVE = ("active", "grace")


def _call(rt: Runtime, method: str, path: str, **kwargs: Any) -> Any:
    response = rt.request(method, rt.api_url(path), **kwargs)
    rt.manager.check(response, what=f"{method} {response.request.url.path}")
    return response.json() if response.content else None


def _items(rt: Runtime) -> list[dict[str, Any]]:
    return list(_call(rt, "GET", "api-keys")["items"])


def _resolve(rt: Runtime, ref: str) -> str:
    """A key id from an id, a prefix or a name. A rotated key keeps its name, so a name means
    the live key of that name: the active one, else the one still in its grace period."""
    items = _items(rt)
    for field in ("id", "prefix"):
        found = [k for k in items if k.get(field) == ref]
        if len(found) == 1:
            return str(found[0]["id"])
    named = [k for k in items if k.get("name") == ref]
    for status in LIVE:
        found = [k for k in named if k.get("status") == status]
        if len(found) == 1:
            return str(found[0]["id"])
        if len(found) > 1:
            ids = ", ".join(f"{k['prefix']} ({k['id']})" for k in found)
            raise UsageError(
                f"{len(found)} {status} keys are named {ref!r}: {ids}.",
                "Give the prefix or the id instead (see `limen keys list`).",
            )
    if len(named) == 1:
        return str(named[0]["id"])
    if named:
        raise UsageError(
            f"Several keys are named {ref!r} and none is live.",
            "Give the prefix or the id instead (see `limen keys list --all`).",
        )
    raise UsageError(f"No API key matches {ref!r}.", "See `limen keys list --all`.")


def _show_new(key: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        print_json(key)
        return
    click.echo(
        f"{verb} API key {key['name']!r} (id {key['id']}, scopes {' '.join(key['scopes'])}).",
        err=True,
    )
    click.echo("This is the only time the key is shown; store it now:", err=True)
    click.echo(key["key"])


@click.group()
def keys() -> None:
    """Create, list, rotate and revoke your API keys."""


@keys.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include revoked, rotated and expired keys.")
@profile_options
@json_option
def list_keys(show_all: bool, as_json: bool) -> None:
    """List API keys (never their secrets)."""
    items = [k for k in _items(runtime()) if show_all or k.get("status") in LIVE]
    if as_json:
        print_json({"items": items})
        return
    if not items:
        click.echo("No API keys." + ("" if show_all else " (--all shows revoked ones.)"))
        return
    print_table(
        ["id", "name", "prefix", "scopes", "status", "expires", "last used"],
        [
            [
                k["id"],
                k["name"],
                k["prefix"],
                " ".join(k["scopes"]),
                k["status"],
                k.get("grace_until") or k.get("expires_at"),
                k.get("last_used_at"),
            ]
            for k in items
        ],
    )


@keys.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, help="A scope (repeatable).")
@click.option("--expires-in-days", type=click.IntRange(1, 366), help="Expire after N days.")
@profile_options
@json_option
def create_key(
    name: str, scopes: tuple[str, ...], expires_in_days: int | None, as_json: bool
) -> None:
    """Create an API key; it is printed once."""
    body: dict[str, Any] = {"name": name, "scopes": list(scopes)}
    if expires_in_days:
        body["expires_in_days"] = expires_in_days
    _show_new(_call(runtime(), "POST", "api-keys", json=body), as_json, "Created")


@keys.command("rotate")
@click.argument("key", shell_complete=complete_key_names)
@click.option(
    "--grace-seconds",
    type=click.IntRange(0, 30 * 86400),
    default=86400,
    show_default=True,
    help="How long the old key keeps working.",
)
@profile_options
@json_option
def rotate_key(key: str, grace_seconds: int, as_json: bool) -> None:
    """Replace KEY (id, prefix or name) with a new key; the old one works for the grace period."""
    rt = runtime()
    new = _call(
        rt, "POST", f"api-keys/{_resolve(rt, key)}/rotate", json={"grace_seconds": grace_seconds}
    )
    _show_new(new, as_json, "Rotated; new")


@keys.command("revoke")
@click.argument("key", shell_complete=complete_key_names)
@profile_options
@json_option
def revoke_key(key: str, as_json: bool) -> None:
    """Revoke KEY (id, prefix or name) at once."""
    rt = runtime()
    key_id = _resolve(rt, key)
    _call(rt, "DELETE", f"api-keys/{key_id}")
    if as_json:
        print_json({"id": key_id, "revoked": True})
    else:
        click.echo(f"Revoked API key {key_id}.")
