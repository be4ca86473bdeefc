"""git over HTTPS with Limen tokens: `limen setup-git --host URL` registers `limen
git-credential` as git's credential helper for that host (like `gh auth setup-git`); git then
asks it for a username and password (the access token) on every fetch or push."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from ..config import LOOPBACK_NAMES
from ..errors import LimenError, UsageError
from ..options import profile_options, runtime

USERNAME = "limen"  # servers that trust Limen tokens read the password, not the name


def credential_url(host: str) -> str:
    """``https://host[:port]`` for a bare host; http only for loopback test servers."""
    url = host if "://" in host else f"https://{host}"
    parts = urlsplit(url.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{host!r} is not a host or an http(s) URL.")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_NAMES:
        raise UsageError(
            f"Refusing to send tokens to {url} over plain HTTP.", "Use an https:// remote."
        )
    return f"{parts.scheme}://{parts.netloc}"


def limen_executable() -> str:
    """The path git should run: this very `limen`, even when it is not on PATH."""
    import shutil

    me = Path(sys.argv[0]).resolve()
    on_path = shutil.which("limen")
    return "limen" if on_path and Path(on_path).resolve() == me else str(me)


def git_config(*args: str) -> None:
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None:
        raise LimenError("git is not installed (or not on PATH).")
    done = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        [git, "config", "--global", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise LimenError(f"`git config --global {' '.join(args)}` failed: {done.stderr.strip()}")


@click.command("setup-git")
@click.option("--host", "hosts", multiple=True, required=True, metavar="HOST|URL")
@profile_options
def setup_git(hosts: tuple[str, ...]) -> None:
    """Make git use this profile's Limen token for HOST (https://HOST unless a URL is given)."""
    import shlex

    profile = runtime().settings.profile
    helper = f"!{shlex.quote(limen_executable())} --profile {shlex.quote(profile)} git-credential"
    for host in hosts:
        url = credential_url(host)
        key = f"credential.{url}.helper"
        git_config("--replace-all", key, "")  # forget helpers inherited for this host
        git_config("--add", key, helper)
        click.echo(f"git now asks limen (profile {profile!r}) for credentials for {url}.")


def read_request(text: str) -> dict[str, str]:
    """git's credential request: ``key=value`` lines up to a blank line."""
    request: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition("=")
        request[key] = value
    return request


@click.command("git-credential", hidden=True)
@click.argument("operation", type=click.Choice(["get", "store", "erase"]))
@profile_options
def git_credential(operation: str) -> None:
    """git's credential helper protocol (git-credential(1)); only `get` does anything."""
    request = read_request(sys.stdin.read())
    if operation != "get":
        return  # the token is limen's to renew or forget, not git's
    url = f"{request.get('protocol', '')}://{request.get('host', '')}"
    try:
        credential_url(url)
    except UsageError:
        return  # no token over plain HTTP to a remote host: git falls back to its own ways
    from ..commands.tokens import verified_token

    info = verified_token(runtime())
    lines = [f"username={USERNAME}", f"password={info['access_token']}"]
    if info["expires_at"]:
        lines.append(f"password_expiry_utc={info['expires_at']}")
    click.echo("\n".join(lines))


__all__ = ["git_credential", "setup_git"]
