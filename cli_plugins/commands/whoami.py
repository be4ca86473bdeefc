"""`limen status` and `limen whoami`: who, which server, how, until when, where stored."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from ..errors import AuthRequired, ExitCode, ServerUnreachable, login_command
from ..options import json_option, profile_options, runtime
from ..output import print_fields, print_json, when

if TYPE_CHECKING:
    from ..runtime import Runtime


def fetch_me(rt: Runtime) -> dict[str, Any]:
    """GET /me with the profile's credential (renewing it if needed); not being logged in
    is reported before any network call."""
    rt.manager.access_token()
    response = rt.manager.check(rt.request("GET", rt.api_url("me")), what="GET /api/v1/me")
    return dict(response.json())


def _describe(rt: Runtime) -> dict[str, Any]:
    """What status reports, without secrets; ``logged_in`` is decided by the server."""
    s = rt.settings
    store, note = rt.store_and_note
    info: dict[str, Any] = {
        "profile": s.profile,
        "profile_source": s.profile_source,
        "server": s.server,
        "server_source": s.server_source,
        "storage": {"backend": store.name, "location": store.location(), "note": note},
        "logged_in": False,
    }
    env = rt.manager.env_credential()
    if env is None:
        try:
            rt.manager.require_stored()
        except AuthRequired as exc:
            info["reason"] = exc.message
            return info
    creds = None
    try:
        me = fetch_me(rt)
    except AuthRequired as exc:
        info["reason"] = exc.message
        creds = None if env else rt.manager.stored()
    except ServerUnreachable as exc:
        info["reason"] = info["unreachable"] = exc.message
        creds = None if env else rt.manager.stored()
    else:
        info.update(logged_in=True, subject=me.get("sub"), email=me.get("email"))
        info.update(scopes=me.get("scopes", []), auth_method=me.get("auth_method"))
        creds = None if env else rt.manager.stored()  # may have been refreshed just now
    if env is not None:
        info["source"] = f"environment ({env.variable}, not stored)"
    elif creds is not None:
        info["source"] = store.location()
        info.update(provider=creds.provider, kind=creds.kind, expires_at=creds.expires_at)
        info["renewable"] = bool(creds.refresh_token) or (
            creds.kind == "client_credentials" and bool(rt.env.get("LIMEN_CLIENT_SECRET"))
        )
    return info


@click.command()
@profile_options
@json_option
def status(as_json: bool) -> None:
    """Show the login state of this profile; exit 3 unless the session is usable."""
    rt = runtime()
    info = _describe(rt)
    if as_json:
        print_json(info)
    else:
        _print_status(info)
    if info.get("unreachable"):
        raise click.exceptions.Exit(ExitCode.ERROR)
    if not info["logged_in"]:
        raise click.exceptions.Exit(ExitCode.AUTH_REQUIRED)


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _print_status(info: dict[str, Any]) -> None:
    """The status for people: the facts on stdout, what to do next on stderr."""
    pairs: list[tuple[str, Any]] = [
        ("Profile", f"{info['profile']} (from {info['profile_source']})"),
        ("Server", f"{info['server']} (from {info['server_source']})"),
    ]
    if info["logged_in"]:
        pairs.append(("Logged in as", info.get("email") or info.get("subject")))
        how = info.get("provider") or info.get("auth_method")
        pairs.append(("Via", f"{how} ({info.get('auth_method')})"))
        pairs.append(("Scopes", " ".join(info.get("scopes") or []) or "-"))
        if "expires_at" in info:
            left = (info["expires_at"] or 0) - time.time()
            until = when(info["expires_at"])
            if info["expires_at"] is not None:
                until += f" (in {_duration(left)})"
            if info.get("renewable"):
                until += "; renewed automatically"
            pairs.append(("Valid until", until))
    else:
        pairs.append(("Logged in", f"no: {info.get('reason')}"))
    if info.get("source"):
        pairs.append(("Credentials", info["source"]))
    else:
        pairs.append(("Storage", info["storage"]["location"]))
    print_fields(pairs)
    if info["storage"]["note"] and not info.get("source"):
        click.echo(info["storage"]["note"], err=True)
    if info.get("unreachable"):
        click.echo("Could not ask the server whether the session is still valid.", err=True)
    elif not info["logged_in"]:
        click.echo(f"Run {login_command(info['profile'])} to sign in.", err=True)


@click.command()
@profile_options
@json_option
def whoami(as_json: bool) -> None:
    """Print who the current credential belongs to (as the server sees it)."""
    rt = runtime()
    me = fetch_me(rt)
    if as_json:
        print_json(me)
        return
    click.echo(me.get("email") or me.get("sub"))
    pairs = [
        ("subject", me.get("sub")),
        ("server", rt.settings.server),
        ("profile", rt.settings.profile),
        ("via", f"{me.get('auth_method')} ({me.get('credential')})"),
        ("roles", ", ".join(me.get("roles") or []) or "-"),
        ("scopes", " ".join(me.get("scopes") or []) or "-"),
    ]
    for label, value in pairs:
        click.echo(f"  {label + ':':<9} {value}")
