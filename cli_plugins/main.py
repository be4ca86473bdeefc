"""The `limen` command: a click group whose commands come from plugins (built-ins included),
loaded when the group first needs them. Errors become messages (JSON under --json) and exit
codes; nothing heavy is imported before a command needs it, so `limen --help` is quick."""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from .errors import AuthRequired, ExitCode, LimenError
from .options import State, profile_options, storage_option

JSON_FLAG = "limen.json"


def report(error: LimenError, *, as_json: bool = False, profile: str | None = None) -> int:
    """Print ``error`` on stderr (text, or a JSON document under --json); its exit code."""
    if isinstance(error, AuthRequired):
        error.with_login_hint(profile)
    if as_json:
        click.echo(json.dumps({"error": error.to_dict()}), err=True)
    else:
        click.echo(error.render(), err=True)
    return int(error.exit_code)


def _usage_as_json(exc: click.ClickException) -> int:
    command = exc.ctx.command_path if isinstance(exc, click.UsageError) and exc.ctx else "limen"
    error = {
        "type": "usage",
        "message": exc.format_message(),
        "hint": f"See `{command} --help`.",
        "exit_code": exc.exit_code,
    }
    click.echo(json.dumps({"error": error}), err=True)
    return exc.exit_code


def _active_profile(ctx: click.Context) -> str | None:
    state = ctx.find_object(State)
    if state is None:
        return None
    settings = vars(state.runtime).get("settings") if state.runtime is not None else None
    return settings.profile if settings is not None else state.profile


def _unexpected(exc: Exception) -> None:
    from .plugins import blame

    culprit = blame(exc.__traceback__)
    if culprit is not None:
        click.echo(
            f"Error: the limen plugin {culprit.label} failed: {type(exc).__name__}: {exc}\n"
            f"Report it to its authors; to run without it: `limen plugins disable "
            f"{culprit.name}` (LIMEN_DEBUG=1 shows the traceback).",
            err=True,
        )
        return
    click.echo(
        f"Error: unexpected {type(exc).__name__}: {exc}\n"
        "This is a bug in limen; run with LIMEN_DEBUG=1 for the traceback and report it.",
        err=True,
    )


class LimenGroup(click.Group):
    """Loads plugin commands on first use and turns failures into exit codes."""

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            from .plugins import call_each, plugin_manager

            for _ in call_each(plugin_manager(), "register_commands", cli=self):
                pass

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        plain = args[: args.index("--")] if "--" in args else args
        pairs = set(itertools.pairwise(plain))
        ctx.meta[JSON_FLAG] = bool(
            {"--json", "--format=json"} & set(plain) or ("--format", "json") in pairs
        )
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        as_json = bool(ctx.meta.get(JSON_FLAG))
        try:
            return super().invoke(ctx)
        except LimenError as error:
            ctx.exit(report(error, as_json=as_json, profile=_active_profile(ctx)))
        except KeyboardInterrupt:
            click.echo("\nInterrupted.", err=True)
            ctx.exit(ExitCode.ERROR)
        except BrokenPipeError:
            # The reader went away (`limen token | head -c 10`): no message, no traceback.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(ExitCode.ERROR)
        except click.ClickException as exc:
            if not as_json:
                raise
            ctx.exit(_usage_as_json(exc))
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if os.environ.get("LIMEN_DEBUG"):
                raise
            if _is_http_error(exc):  # anything not already translated by the commands
                click.echo(f"Error: HTTP failure talking to the server: {exc}", err=True)
            else:
                _unexpected(exc)
            ctx.exit(ExitCode.ERROR)


def _is_http_error(exc: Exception) -> bool:
    if "httpx" not in sys.modules:
        return False
    import httpx

    return isinstance(exc, httpx.HTTPError)


@click.group(cls=LimenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@profile_options
@storage_option
@click.version_option(package_name="limen", prog_name="limen")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Limen on the command line: log in, get tokens, call the API, manage API keys.

    Exit codes: 0 ok, 1 error, 2 usage, 3 authentication required or expired, 4 forbidden.
    """
    ctx.ensure_object(State)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=args, prog_name="limen")
    except LimenError as error:  # raised while parsing, before any command ran
        sys.exit(report(error, as_json="--json" in args))
    except KeyboardInterrupt:
        click.echo("\nInterrupted.", err=True)
        sys.exit(ExitCode.ERROR)
