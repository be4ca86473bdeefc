"""`limen-server worker`, `cron` and `rotate-keys`: plain click commands with an app context.

Registered on the `limen-server` group with ``main.add_command(...)``; also runnable on their
own as ``python -m webapp.jobs worker|cron|rotate-keys``.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run what is queued, then exit.")
@click.option("--simple", is_flag=True, help="Run jobs in this process instead of forking.")
@with_appcontext
def worker_command(burst: bool, simple: bool) -> None:
    """RQ worker for every Limen queue (retries with back-off included)."""
    from .worker import run_worker

    run_worker(_app(), burst=burst, simple=simple)


@click.command("cron")
@with_appcontext
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
    Cron(_app()).run(stop)


@click.command("rotate-keys")
@click.option(
    "--now",
    "emergency",
    is_flag=True,
    help="Emergency (compromised key): switch at once and revoke what the old key signed.",
)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def rotate_keys_command(emergency: bool, as_json: bool) -> None:
    """Enqueue a signing-key rotation, or with --now run an emergency rotation here."""
    from .actions import enqueue_key_rotation, run_inline
    from .runtime import runtime

    rt = runtime(_app())
    settings = rt.settings
    if not emergency:
        outcome = enqueue_key_rotation(now=False, actor="cli")
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
    outcome = enqueue_key_rotation(now=True, actor="cli")
    rt.identity.db.commit()  # this command is the unit of work: the new ring holds from here
    # Do not wait for a worker when a key is compromised: revoke here, now (idempotent, so the
    # queued copy of the job finds nothing left to do).
    revoked = run_inline(
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


def _factory() -> Any:
    from webapp import ConfigurationError, create_app

    try:
        return create_app()
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


@click.group(
    cls=FlaskGroup, create_app=_factory, add_default_commands=False, add_version_option=False
)
def jobs_cli() -> None:
    """Limen background jobs (the same commands as `limen-server worker|cron|rotate-keys`)."""


jobs_cli.add_command(worker_command)
jobs_cli.add_command(cron_command)
jobs_cli.add_command(rotate_keys_command)
