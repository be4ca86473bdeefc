"""`limen token` and `limen export`: a fresh access token for other programs. The token is
checked with the server first, so a revoked session fails (exit 3) instead of printing a token
that no longer works."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

import click

from ..options import json_option, profile_options, runtime
from ..output import print_json, rfc3339

if TYPE_CHECKING:
    from ..runtime import Runtime

FORMATS = ("plain", "json", "credential-process")


def verified_token(rt: Runtime) -> dict[str, Any]:
    """{access_token, token_type, expires_at}: a token the server accepts right now (renewed
    first when it is about to expire or was refused). ``expires_at``: epoch seconds or None.
    Local problems (not logged in, an unsafe file) are reported before any network call."""
    rt.manager.access_token()
    response = rt.request("GET", rt.api_url("me"))
    if response.status_code != 403:  # 403: a valid credential that may not read /me
        rt.manager.check(response, what="Checking the token with the server")
    sent = response.request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    expires: int | None = None
    if rt.manager.env_credential() is None:
        creds = rt.manager.stored()
        if creds is not None and creds.access_token == sent and creds.expires_at is not None:
            expires = int(creds.expires_at)
    return {"access_token": sent, "token_type": "Bearer", "expires_at": expires}


def credential_process(info: dict[str, Any]) -> dict[str, Any]:
    """The `credential_process` shape other tools cache by: a version, the secret and an
    RFC 3339 expiration (left out when the credential does not expire)."""
    out: dict[str, Any] = {
        "Version": 1,
        "AccessToken": info["access_token"],
        "TokenType": info["token_type"],
    }
    if info["expires_at"] is not None:
        out["Expiration"] = rfc3339(info["expires_at"])
    return out


@click.command()
@profile_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="plain",
    show_default=True,
    help="plain: the token alone; json: with its expiry; credential-process: for tools that "
    "run a command to get a credential.",
)
@json_option
def token(fmt: str, as_json: bool) -> None:
    """Print a valid access token (checked with the server, renewed when needed)."""
    info = verified_token(runtime())
    if fmt == "credential-process":
        print_json(credential_process(info))
    elif as_json or fmt == "json":
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
    info = verified_token(rt)
    data = {"server": rt.settings.server, "profile": rt.settings.profile, **info}
    if as_json or fmt == "json":
        print_json(data)
    else:
        click.echo(shell_exports(data), nl=False)


def shell_exports(data: dict[str, Any]) -> str:
    """``export`` lines for a POSIX shell, every value quoted."""
    lines = [
        f"export LIMEN_SERVER={shlex.quote(str(data['server']))}",
        f"export LIMEN_TOKEN={shlex.quote(str(data['access_token']))}",
    ]
    if data["expires_at"]:
        lines.append(f"# the token expires at {data['expires_at']} (epoch seconds); run again then")
    return "\n".join(lines) + "\n"
