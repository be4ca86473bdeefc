"""`limen logout`: revoke on the server first, then forget locally (even if the server is
unreachable, and say so); then say what stays valid."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .. import oauth
from ..credentials import Credentials, open_store
from ..errors import LimenError
from ..options import profile_options, runtime
from ..output import when

if TYPE_CHECKING:
    from ..runtime import Runtime


def revoke_credentials(rt: Runtime, creds: Credentials) -> str:
    """Revoke what the server can revoke (RFC 7009) as the client the credentials were
    issued to; returns what happened, for people."""
    client_id = creds.client_id or oauth.CLI_CLIENT_ID
    if creds.refresh_token:  # whoever issued it: revoking it ends the whole session
        auth = rt.manager.client_auth(creds)
        oauth.revoke(rt.metadata(), rt.http, creds.refresh_token, "refresh_token", client_id, auth)
        return "the session was revoked on the server"
    if creds.kind not in ("oauth", "client_credentials", "api_key"):
        return f"nothing was revoked: limen does not revoke {creds.provider!r} credentials"
    if creds.kind == "api_key":
        return "the API key itself stays valid (revoke it with `limen keys revoke`)"
    auth = rt.manager.client_auth(creds)
    if creds.kind == "client_credentials" and auth is None:
        return (
            f"the access token stays valid until {when(creds.expires_at)} (with "
            "LIMEN_CLIENT_SECRET set, logout revokes it)"
        )
    oauth.revoke(rt.metadata(), rt.http, creds.access_token, "access_token", client_id, auth)
    return "the access token was revoked on the server"


def logged_in_profiles(rt: Runtime, exclude: str) -> list[str]:
    """Other profiles that still hold credentials."""
    names = []
    for name, table in sorted(rt.config.profiles.items()):
        if name == exclude:
            continue
        try:
            store, _ = open_store(table.get("storage"), rt.settings.config_dir)
            if store.load(name) is not None:
                names.append(name)
        except LimenError:
            continue
    return names


def forget(rt: Runtime, profile: str) -> bool:
    found = rt.store.delete(profile)
    if profile in rt.config.profiles:
        rt.config.update_profile(profile, user=None)
        rt.config.save()
    return found


@click.command()
@profile_options
def logout() -> None:
    """Revoke the session on the server, then forget it locally."""
    rt = runtime()
    settings, console = rt.settings, rt.console
    env = rt.manager.env_credential()
    if env is not None:
        console.note(
            f"{env.variable} is set in the environment; limen never stored it, so logout cannot "
            f"forget it. Unset it."
        )
    creds = rt.store.load(settings.profile)
    if creds is None:
        console.say(f"Not logged in (profile {settings.profile!r}); nothing to do.")
        _still_valid(rt)
        return
    failure: LimenError | None = None
    try:
        outcome = revoke_credentials(rt, creds)
    except LimenError as exc:
        failure = exc
    forget(rt, settings.profile)
    where = rt.store.location()
    if failure is not None:
        console.say(f"Forgot the credentials of profile {settings.profile!r} ({where}).")
        raise LimenError(
            f"Could not revoke the session on {creds.server}: {failure.message}",
            "It stays valid on the server until it expires; end it from the portal's "
            "sessions page, or ask an administrator.",
        )
    console.say(
        f"Logged out of {creds.server} (profile {settings.profile!r}): {outcome}; credentials "
        f"removed from {where}."
    )
    _still_valid(rt)


def _still_valid(rt: Runtime) -> None:
    console = rt.console
    console.say("Still valid: API keys you created (they do not depend on this login).")
    others = logged_in_profiles(rt, rt.settings.profile)
    if others:
        console.say(f"Other profiles still logged in: {', '.join(others)}.")
