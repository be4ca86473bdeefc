"""`limen-server`: the operator's command line (a FlaskGroup)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup
from flask_migrate.cli import db as db_group
from werkzeug.serving import run_simple

from webapp import ConfigurationError, create_app, resolve_settings
from webapp.diagnostics import run_checks
from webapp.jobs.commands import cron_command, rotate_keys_command, worker_command


def _factory() -> Flask:
    try:
        return create_app()
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        click.echo("Run `limen-server check` for details.", err=True)
        sys.exit(1)


@click.group(
    cls=FlaskGroup, create_app=_factory, add_default_commands=False, add_version_option=False
)
def main() -> None:
    """Limen identity server: run it, migrate it, check it, seed it."""


main.add_command(db_group)
main.add_command(worker_command)
main.add_command(cron_command)
main.add_command(rotate_keys_command)


@main.command("dev", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--instance", default="instance", show_default=True, type=click.Path(path_type=Path))
def dev(host: str, port: int, instance: Path) -> None:
    """One process for development: SQLite, embedded Redis stand-in, migrations, first admin."""
    from flask_migrate import upgrade

    from webapp.bootstrap import ensure_first_admin
    from webapp.jobs import start_dev_runner

    issuer = f"http://{host if host != '0.0.0.0' else '127.0.0.1'}:{port}"  # noqa: S104
    overrides: dict[str, Any] = {
        "env": "development",
        "instance_path": instance.resolve(),
        "issuer": os.environ.get("LIMEN_ISSUER", issuer),
        "cookie_secure": False,
    }
    app = create_app(overrides)
    settings = app.extensions["limen.settings"]
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        created = ensure_first_admin()
    start_dev_runner(app)  # the worker and the schedule, in this process
    click.secho("Limen DEV MODE — not for production", fg="yellow", bold=True)
    click.echo(f"  URL:      {settings.issuer}")
    click.echo(f"  Database: {settings.sqlalchemy_url}")
    click.echo("  Redis:    " + (settings.redis_url or "embedded in-process stand-in (fakeredis)"))
    if created:
        email, password = created
        click.secho("  First-run admin (shown once, store it now):", fg="green")
        click.echo(f"    email:    {email}")
        click.echo(f"    password: {password}")
    click.echo(f"  Try:      curl {settings.issuer}/healthz")
    # Flask's app.run() refuses to run under its own CLI; serve with Werkzeug directly.
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@main.command("run", with_appcontext=False)
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=int,
    help="Threads per worker (gthread): a sign-in waiting for its password check does not "
    "hold up API calls.",
)
def run(bind: str, workers: int, threads: int) -> None:
    """The production web server (gunicorn running webapp:create_app())."""
    from gunicorn.app.base import BaseApplication

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {
                "bind": bind,
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread" if threads > 1 else "sync",
                "accesslog": None,
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return _factory()

    _Gunicorn().run()


@main.command("check", with_appcontext=False)
@click.option(
    "--peer",
    "peers",
    multiple=True,
    metavar="URL",
    help="Another node's base URL: its published key ids must match this node's.",
)
def check(peers: tuple[str, ...]) -> None:
    """Validate settings; reach the database, Redis and the issuer; compare with peers."""
    try:
        settings = resolve_settings(None)
    except Exception as exc:  # pydantic's message names the variable and the bad value
        click.echo(f"✗ settings: {exc}", err=True)
        sys.exit(1)
    problems, warnings = run_checks(settings, list(peers))
    for line in warnings:
        click.echo(f"! {line}")
    for line in problems:
        click.echo(f"✗ {line}")
    if problems:
        click.echo(f"{len(problems)} problem(s) found.")
        sys.exit(1)
    click.echo(f"✓ configuration, database and Redis OK for {settings.issuer}")


@main.command("create-user")
@click.option("--email", required=True)
@click.option(
    "--role",
    "roles",
    type=click.Choice(["admin", "analyst"]),
    multiple=True,
    default=("analyst",),
    show_default=True,
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--display-name", default="")
@click.option("--json", "as_json", is_flag=True)
def create_user(
    email: str, roles: tuple[str, ...], password_stdin: bool, display_name: str, as_json: bool
) -> None:
    """Create a local user."""
    from webapp.extensions import db, identity
    from webapp.identity.errors import IdentityError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        raise click.UsageError("No terminal to ask for a password: pass --password-stdin.")
    try:
        user = identity().accounts.create_user(
            email, password, roles=roles, display_name=display_name, actor="cli"
        )
        db.session.commit()
    except IdentityError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc.detail}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps({"id": user.id, "email": user.email, "roles": list(roles)}))
    else:
        click.echo(f"Created {user.email} ({', '.join(roles)}), id {user.id}")


@main.command("create-client")
@click.option("--name", required=True, help="Shown to people on consent and device pages.")
@click.option(
    "--grant",
    "grants",
    multiple=True,
    required=True,
    type=click.Choice(["authorization_code", "client_credentials", "device_code", "refresh_token"]),
)
@click.option("--scope", "scopes", multiple=True, help="Scopes the client may ask for.")
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--public", is_flag=True, help="No secret (native apps, SPAs); PKCE required.")
@click.option("--trusted", is_flag=True, help="First-party: skip the consent screen.")
@click.option(
    "--introspect",
    is_flag=True,
    help="A resource server: may introspect any token (others: only their own).",
)
@click.option("--client-id", default=None, help="Choose the id (default: generated).")
@click.option(
    "--backchannel-logout-uri",
    default=None,
    help="OIDC Back-Channel Logout: where logout tokens are POSTed.",
)
@click.option("--json", "as_json", is_flag=True)
def create_client(
    name: str,
    grants: tuple[str, ...],
    scopes: tuple[str, ...],
    redirect_uris: tuple[str, ...],
    public: bool,
    trusted: bool,
    introspect: bool,
    client_id: str | None,
    backchannel_logout_uri: str | None,
    as_json: bool,
) -> None:
    """Register an OAuth client; its secret is printed once."""
    from webapp.extensions import db, identity
    from webapp.identity.backchannel import validate_backchannel_uri
    from webapp.identity.delegation import OPERATOR
    from webapp.identity.errors import IdentityError
    from webapp.jobs.services import backchannel

    try:
        if backchannel_logout_uri:
            validate_backchannel_uri(backchannel_logout_uri)
        registered = identity().clients.register(
            name=name,
            grants=grants,
            scopes=scopes,
            redirect_uris=redirect_uris,
            public=public,
            trusted=trusted,
            introspect=introspect,
            client_id=client_id,
            actor="cli",
            holder=OPERATOR,
        )
        db.session.commit()
        if backchannel_logout_uri:
            backchannel(identity()).set_uri(
                registered.row.client_id, backchannel_logout_uri, actor="cli"
            )
    except IdentityError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc.detail}", err=True)
        sys.exit(1)
    out = {"client_id": registered.row.client_id}
    if registered.secret:
        out["client_secret"] = registered.secret
    if as_json:
        click.echo(json.dumps(out))
        return
    click.echo(f"Created client {registered.row.client_id} ({name})")
    if registered.secret:
        click.echo(f"Secret (shown once, store it now): {registered.secret}")


if __name__ == "__main__":
    main()
