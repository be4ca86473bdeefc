"""The `limen` command: a click group whose commands come from plugins (built-ins included),
loaded when the group first needs them. Errors become messages and exit codes."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
import httpx

from .errors import ExitCode, LimenError
from .options import State, profile_options, storage_option
from .plugins import plugin_manager


def report(error: LimenError) -> int:
    click.echo(error.render(), err=True)
    return int(error.exit_code)


class LimenGroup(click.Group):
    """Loads plugin commands on first use and turns failures into exit codes."""

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            plugin_manager().hook.register_commands(cli=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LimenError as error:
            ctx.exit(report(error))
        except KeyboardInterrupt:
            click.echo("\nInterrupted.", err=True)
            ctx.exit(ExitCode.ERROR)
        except BrokenPipeError:
            # The reader went away (`limen token | head -c 10`): no message, no traceback.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(ExitCode.ERROR)
        except httpx.HTTPError as exc:  # anything not already translated by the commands
            click.echo(f"Error: HTTP failure talking to the server: {exc}", err=True)
            ctx.exit(ExitCode.ERROR)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:
            if os.environ.get("LIMEN_DEBUG"):
                raise
            click.echo(
                f"Error: unexpected {type(exc).__name__}: {exc}\n"
                "This is a bug in limen or a plugin; run with LIMEN_DEBUG=1 for the traceback "
                "and report it.",
                err=True,
            )
            ctx.exit(ExitCode.ERROR)


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


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        cli.main(args=argv, prog_name="limen")
    except LimenError as error:  # raised while parsing, before any command ran
        sys.exit(report(error))
    except KeyboardInterrupt:
        click.echo("\nInterrupted.", err=True)
        sys.exit(ExitCode.ERROR)
