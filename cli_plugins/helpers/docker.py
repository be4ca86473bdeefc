"""`docker-credential-limen`: a Docker credential helper (the docker-credential-helpers
protocol: `get`, `store`, `erase`, `list`, `version`, with the server URL or a JSON document
on stdin). `get` answers a fresh Limen access token for registries that trust them; which
profile serves which registry is recorded by `limen setup-docker REGISTRY`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from ..config import Config, config_dir
from ..errors import AuthRequired, LimenError, UsageError
from ..files import write_private
from ..options import profile_options, runtime

USERNAME = "limen"
NOT_FOUND = "credentials not found in native keychain"  # docker's own "no credentials" text
OPERATIONS = ("get", "store", "erase", "list", "version")


def registry_key(server_url: str) -> str:
    """``host[:port]`` of what docker passes (``reg.example.com``, ``https://reg/v1/``)."""
    text = server_url.strip()
    netloc = urlsplit(text if "://" in text else f"//{text}").netloc
    if not netloc:
        raise UsageError(f"{server_url!r} is not a registry address.")
    return netloc.lower()


def docker_config_path() -> Path:
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"


@click.command("setup-docker")
@click.argument("registries", nargs=-1, required=True, metavar="REGISTRY...")
@profile_options
def setup_docker(registries: tuple[str, ...]) -> None:
    """Make docker ask limen (this profile) for credentials for each REGISTRY."""
    rt = runtime()
    keys = [registry_key(r) for r in registries]
    path = docker_config_path()
    try:
        document: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    except ValueError as exc:
        raise LimenError(f"{path} is not valid JSON ({exc}); fix it first.") from exc
    helpers = document.setdefault("credHelpers", {})
    for key in keys:
        helpers[key] = "limen"
        rt.config.registries[key] = rt.settings.profile
    write_private(path, (json.dumps(document, indent=2) + "\n").encode())
    rt.config.save()
    for key in keys:
        click.echo(f"docker now asks limen (profile {rt.settings.profile!r}) for {key}.")


def get(server_url: str) -> dict[str, str]:
    """The credentials docker sends to ``server_url``: a token the server accepts now."""
    from ..commands.tokens import verified_token
    from ..config import Flags
    from ..runtime import Runtime

    key = registry_key(server_url)
    profile = Config.load(config_dir(os.environ)).registries.get(key)
    rt = Runtime(flags=Flags(profile=profile))
    try:
        token = verified_token(rt)["access_token"]
    except AuthRequired as exc:
        raise exc.with_login_hint(rt.settings.profile) from None
    finally:
        rt.close()
    return {"ServerURL": server_url.strip(), "Username": USERNAME, "Secret": token}


def run(operation: str, stdin: str) -> dict[str, Any] | str | None:
    """One operation; the JSON document (or text) to print, None for nothing."""
    if operation == "get":
        return get(stdin)
    if operation == "list":
        registries = Config.load(config_dir(os.environ)).registries
        return {key: USERNAME for key in sorted(registries)}
    if operation == "erase":
        return None  # the token is limen's; `limen logout` ends the session
    if operation == "version":
        return "docker-credential-limen (limen)"
    raise LimenError(
        "docker-credential-limen does not store credentials: it hands out Limen tokens.",
        "Log in with `limen login` instead of `docker login`.",
    )


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (the protocol expects errors on stdout, exit 1)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in OPERATIONS:
        print(f"Usage: docker-credential-limen <{'|'.join(OPERATIONS)}>")
        sys.exit(1)
    try:
        result = run(args[0], sys.stdin.read() if args[0] != "version" else "")
    except AuthRequired as exc:
        print(NOT_FOUND)  # docker then pulls anonymously; say why on stderr
        print(exc.with_login_hint(None).render(), file=sys.stderr)
        sys.exit(1)
    except LimenError as exc:
        print(exc.message)
        if exc.hint:
            print(exc.hint, file=sys.stderr)
        sys.exit(1)
    if isinstance(result, str):
        print(result)
    elif result is not None:
        print(json.dumps(result))
