"""`limen api`: an authenticated request to the server (renew-and-retry once on a 401; a
step-up challenge answered by a fresh browser sign-in where a person can take part)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import UsageError
from ..options import json_option, profile_options, runtime
from ..stepup import challenge_of
from .login import sign_in_again

if TYPE_CHECKING:
    from ..runtime import Runtime


def _payload(data: str) -> Any:
    """--data: inline JSON, ``@file``, or ``-`` for stdin."""
    if data == "-":
        data = sys.stdin.read()
    elif data.startswith("@"):
        try:
            data = Path(data[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"Cannot read {data[1:]}: {exc.strerror}.") from exc
    try:
        return json.loads(data)
    except ValueError as exc:
        raise UsageError(f"--data is not valid JSON: {exc}.") from exc


def _url(rt: Runtime, path: str) -> str:
    """Only the profile's server ever receives its credentials."""
    if path.startswith(("http://", "https://")):
        server = rt.settings.server
        if path != server and not path.startswith(server + "/"):
            raise UsageError(
                f"{path} is not on {server}; limen api sends credentials only to the "
                "profile's server.",
                "Give a path such as /api/v1/me.",
            )
        return path
    return rt.api_url(path)


def _method_and_path(method: str | None, args: tuple[str, ...]) -> tuple[str | None, str]:
    """``PATH`` or ``METHOD PATH`` (like `limen api GET /api/v1/me`)."""
    if len(args) == 1:
        return method, args[0]
    if len(args) == 2:
        if method and method.upper() != args[0].upper():
            raise UsageError(f"Two methods given: -X {method} and {args[0]}.")
        return args[0], args[1]
    raise UsageError("Give a PATH, optionally preceded by a METHOD (e.g. GET /api/v1/me).")


@click.command()
@click.option(
    "-X",
    "--method",
    "method",
    metavar="METHOD",
    help="HTTP method (default GET, POST with --data).",
)
@click.argument("args", nargs=-1, required=True, metavar="[METHOD] PATH")
@click.option("--data", "-d", metavar="JSON", help="JSON body: inline, @file or - for stdin.")
@profile_options
@json_option
def api(method: str | None, args: tuple[str, ...], data: str | None, as_json: bool) -> None:
    """Send an authenticated request; PATH like /api/v1/me (or me, relative to the API)."""
    method, path = _method_and_path(method, args)
    rt = runtime()
    method = (method or ("POST" if data is not None else "GET")).upper()
    kwargs: dict[str, Any] = {}
    if data is not None:
        kwargs["json"] = _payload(data)
    url = _url(rt, path)
    response = rt.request(method, url, **kwargs)
    challenge = challenge_of(response)
    if challenge is not None and sign_in_again(rt, challenge):
        response = rt.request(method, url, **kwargs)  # once, with the fresh sign-in
    if response.content:
        try:
            body = response.json()
        except ValueError:
            click.echo(response.text, nl=not response.text.endswith("\n"))
        else:
            click.echo(json.dumps(body) if as_json else json.dumps(body, indent=2, sort_keys=True))
    rt.manager.check(response, what=f"{method} {response.request.url.path}")
