"""`limen-server worker`, `cron` and `rotate-keys`: plain click commands on a jobs runtime.

They build no web app: the settings tree (what ``create_app`` would check), logging, then
``build_runtime``. Registered on the `limen-server` group with ``main.add_command(...)``; also
runnable on their own as ``python -m webapp.jobs worker|cron|rotate-keys``.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable

import click
from flask.cli import FlaskGroup

from webapp.settings import Settings

from .runtime import JobsRuntime, build_runtime

# In ``click.Context.meta``: how the group running a command gets its checked settings (the
# `limen-server` group: beside a dev instance, that instance's); unset, ``_settings``.
SETTINGS = "limen.settings"


def _settings() -> Settings:
    """The checked settings tree from the environment; its problems on stderr and exit 1."""
    from webapp.factory import ConfigurationError, checked_settings

    try:
        return checked_settings()
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


def _runtime() -> JobsRuntime:
    """The settings the group gives, logging configured as the web app's, and the runtime."""
    from webapp import logs

    settings_of: Callable[[], Settings] = click.get_current_context().meta.get(SETTINGS, _settings)
    settings = settings_of()
    logs.configure(settings.effective_log_format, settings.log_level, settings.log_flush_seconds)
    return build_runtime(settings)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run what is queued, then exit.")
@click.option("--simple", is_flag=True, help="Run jobs in this process instead of forking.")
def worker_command(burst: bool, simple: bool) -> None:
    """RQ worker for every Limen queue (retries with back-off included)."""
    from .worker import run_worker

    run_worker(_runtime(), burst=burst, simple=simple)


@click.command("cron")
def cron_command() -> None:
    """The schedule: key rotation, credential rotation, back-channel sweep, purges.

    Safe to run more than one: each job fires once per interval across all of them.
    """
    from .cron import Cron

    stop = threading.Event()

    def _stop(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    Cron(_runtime()).run(stop)


@click.command("rotate-keys")
@click.option(
    "--now",
    "emergency",
    is_flag=True,
    help="Emergency (compromised key): switch at once and revoke what the old key signed.",
)
@click.option("--json", "as_json", is_flag=True)
def rotate_keys_command(emergency: bool, as_json: bool) -> None:
    """Enqueue a signing-key rotation, or with --now run an emergency rotation here."""
    from .actions import enqueue_key_rotation, run_inline

    rt = _runtime()
    settings = rt.settings
    if not emergency:
        outcome = enqueue_key_rotation(rt, now=False, actor="cli")
        if as_json:
            click.echo(json.dumps(outcome))
            return
        click.echo(f"Rotation enqueued (run {outcome['run_id']}).")
        click.echo(
            f"A new key is published in JWKS when a worker runs it, signs "
            f"{settings.key_publish_seconds} s later, and the old key leaves JWKS once every "
            "token it signed has expired. Watch it with GET /api/v1/jobs."
        )
        return
    outcome = enqueue_key_rotation(rt, now=True, actor="cli")
    rt.identity.db.commit()  # this command is the unit of work: the new ring holds from here
    # Do not wait for a worker when a key is compromised: revoke here, now (idempotent, so the
    # queued copy of the job finds nothing left to do).
    revoked = run_inline(
        rt,
        "keys.revoke_signed",
        {
            "since": outcome["sessions_since"].isoformat(),
            "until": outcome["sessions_until"].isoformat(),
            "kids": outcome["retired"],
            "actor": "cli",
        },
        actor="cli",
    )
    report = {
        "emergency": True,
        "kid": outcome["kid"],
        "retired": outcome["retired"],
        "sessions_revoked": revoked["sessions_revoked"],
    }
    if as_json:
        click.echo(json.dumps(report))
        return
    click.secho("EMERGENCY signing-key rotation done.", fg="red", bold=True)
    click.echo(f"  New active key:   {report['kid']} (signing now)")
    click.echo(
        "  Retired at once:  "
        + (", ".join(report["retired"]) or "(none)")
        + " — removed from JWKS; tokens it signed are rejected on every node"
    )
    click.echo(
        f"  Sessions revoked: {report['sessions_revoked']} (every session that may hold a "
        "token the old key signed); their users must sign in again."
    )
    click.echo("  Resource servers caching JWKS will fetch the new key on its unknown kid.")
    sys.stdout.flush()


class JobsGroup(FlaskGroup):
    """Flask's group (its ``.env`` loading, as `limen-server`), but listing or running these
    commands never looks for a Flask app: they build none."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self.commands.get(name)


@click.group(cls=JobsGroup, add_default_commands=False, add_version_option=False)
def jobs_cli() -> None:
    """Limen background jobs (the same commands as `limen-server worker|cron|rotate-keys`)."""


jobs_cli.add_command(worker_command)
jobs_cli.add_command(cron_command)
jobs_cli.add_command(rotate_keys_command)
