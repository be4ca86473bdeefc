"""`limen-server`: the operator's command line (a FlaskGroup)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import click
from flask import Flask
from flask.cli import FlaskGroup
from flask_migrate.cli import db as db_group
from werkzeug.serving import run_simple

from webapp import ConfigurationError, create_app, resolve_settings
from webapp.diagnostics import redis_topology, run_checks
from webapp.extensions import migrations
from webapp.factory import checked_settings
from webapp.identity import rbac
from webapp.jobs.commands import SETTINGS as JOBS_SETTINGS
from webapp.jobs.commands import cron_command, rotate_keys_command, worker_command
from webapp.settings import Settings, effective_settings, unknown_variables

DEVICE_GRANT_URN = "urn:ietf:params:oauth:grant-type:device_code"


def _factory() -> Flask:
    """The app for commands that need one: beside a `limen-server dev` instance (and with no
    production settings in the environment) the dev instance, else the configured one."""
    from webapp.devserver import beside_dev_server

    return _app_or_explain(beside_dev_server())


def _app_or_explain(settings: dict[str, Any] | None) -> Flask:
    """``create_app(settings)``, or the configuration's problems on stderr and exit 1 (never
    a traceback)."""
    try:
        app = create_app(settings)
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        click.echo("Run `limen-server check` for details.", err=True)
        sys.exit(1)
    migrations(app)  # `limen-server db ...` (Flask-Migrate) finds its configuration
    return app


def _settings() -> Settings:
    """The checked settings (beside a `limen-server dev` instance, that instance's) for the
    commands that build no app (worker, cron, rotate-keys); problems as ``_app_or_explain``."""
    from webapp.devserver import beside_dev_server

    try:
        return checked_settings(beside_dev_server())
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        click.echo("Run `limen-server check` for details.", err=True)
        sys.exit(1)


class ServerGroup(FlaskGroup):
    """Every command is registered on the group itself, so listing them (``--help``) never
    builds the app: help works before anything is configured."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self.commands.get(name)


@click.group(
    cls=ServerGroup, create_app=_factory, add_default_commands=False, add_version_option=False
)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Limen identity server: run it, migrate it, check it, seed it."""
    ctx.meta[JOBS_SETTINGS] = _settings


main.add_command(db_group)
main.add_command(worker_command)
main.add_command(cron_command)
main.add_command(rotate_keys_command)


@main.command("dev", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--instance", default="instance", show_default=True, type=click.Path(path_type=Path))
@click.option("--verbose", is_flag=True, help="Print request and job logs here, not in a file.")
@click.option(
    "--reset-admin-password", is_flag=True, help="Give the first admin a new password (shown)."
)
def dev(host: str, port: int, instance: Path, verbose: bool, reset_admin_password: bool) -> None:
    """One process for development: SQLite, embedded Redis stand-in, migrations, first admin."""
    from flask_migrate import upgrade

    from webapp import devserver
    from webapp.bootstrap import FIRST_ADMIN_EMAIL, ensure_first_admin
    from webapp.jobs import start_dev_runner

    issuer = devserver.issuer_for(host, port)
    app = _app_or_explain(devserver.dev_overrides(instance, issuer))
    devserver.write_marker(instance, app.extensions["limen.settings"].issuer)
    log_path, log = (None, None) if verbose else devserver.open_log(instance)
    with app.app_context():
        if log is not None:
            devserver.route_logs(log)
        upgrade(directory=migrations(app).directory)
        if log is not None:
            devserver.route_logs(log)  # Alembic's logging config replaced the handlers
        created = ensure_first_admin()
        password = created[1] if created else None
        if reset_admin_password and created is None:
            password = devserver.reset_admin_password(FIRST_ADMIN_EMAIL)
        restored = devserver.restore_sessions()
    start_dev_runner(app.extensions["limen.jobs"])  # the worker and the schedule, here
    devserver.banner(app, log_path=log_path, admin=(FIRST_ADMIN_EMAIL, password), restored=restored)
    # Flask's app.run() refuses to run under its own CLI; serve with Werkzeug directly.
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@main.command("run", with_appcontext=False)
@click.option("--bind", default="127.0.0.1:8000", show_default=True, metavar="HOST:PORT")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Blocking threads per worker: a sign-in waiting for its password check does not "
    "hold up API calls.",
)
@click.option("--access-log/--no-access-log", default=False, show_default=True)
def run(bind: str, workers: int, threads: int, access_log: bool) -> None:
    """The production web server: granian (a Rust HTTP server, WSGI interface) running
    webapp:create_app() in WORKERS processes. SIGHUP reloads the workers gracefully."""
    from granian.constants import Interfaces
    from granian.server import Server

    host, port = parse_bind(bind)
    try:
        checked_settings(None)  # explain a bad configuration once, here, not in every worker
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        click.echo("Run `limen-server check` for details.", err=True)
        sys.exit(1)
    Server(
        "webapp:create_app",
        factory=True,
        interface=Interfaces.WSGI,
        address=host,
        port=port,
        workers=workers,
        blocking_threads=threads,
        log_access=access_log,
        respawn_failed_workers=True,
        workers_kill_timeout=30,
    ).serve()


def parse_bind(bind: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets) -> (host, port), or a usage error."""
    host, sep, port = bind.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(
            f"{bind!r} is not HOST:PORT, e.g. 0.0.0.0:8000", param_hint="--bind"
        )
    return host, int(port)


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
    except ConfigurationError as exc:  # pydantic's message names the variable and the value
        click.echo(f"✗ settings: {exc}", err=True)
        sys.exit(1)
    click.echo("Effective settings (secrets masked):")
    for name, value in effective_settings(settings):
        click.echo(f"  {name}={value}")
    for line in redis_topology(settings):
        click.echo(line)
    problems, warnings = run_checks(settings, list(peers))
    problems = unknown_variables(os.environ) + problems
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
    type=click.Choice(rbac.PERSON_ROLES),
    multiple=True,
    default=(rbac.ANALYST,),
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


@main.command("send-test-mail")
@click.argument("to")
def send_test_mail(to: str) -> None:
    """Send a test mail to TO now, through the configured mail server (LIMEN_SMTP_URL)."""
    from webapp.extensions import db, identity, jobs_runtime
    from webapp.identity.errors import IdentityError
    from webapp.jobs import run_inline

    ident = identity()
    if ident.outbox.delivery == "off":
        click.echo("Error: LIMEN_SMTP_URL is not set, so Limen sends no mail.", err=True)
        sys.exit(1)
    try:
        address = ident.emails.normalize(to).display
    except IdentityError as exc:
        click.echo(f"Error: {exc.detail}", err=True)
        sys.exit(2)
    row = ident.outbox.compose("test", address, {})
    db.session.commit()
    try:
        summary = run_inline(jobs_runtime(), "mail.send", {"message_id": row.id}, actor="cli")
    except Exception as exc:  # the job recorded it (jobs page); say what went wrong
        click.echo(f"Error: the mail was not delivered: {exc}", err=True)
        sys.exit(1)
    if "skipped" in summary:  # a running worker took it first
        click.echo(f"Queued a test mail to {address}: a worker is sending it.")
        return
    where = summary.get("delivered") or "accepted by the mail server"
    click.echo(f"Sent a test mail to {address} ({where}).")


@main.command("create-client")
@click.option("--name", required=True, help="Shown to people on consent and device pages.")
@click.option(
    "--grant",
    "grants",
    multiple=True,
    required=True,
    type=click.Choice(
        [
            "authorization_code",
            "client_credentials",
            "device_code",
            DEVICE_GRANT_URN,
            "refresh_token",
        ]
    ),
    help=f"Repeatable; the device grant is device_code or its RFC 8628 name {DEVICE_GRANT_URN}.",
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
@click.option(
    "--jwks-file",
    type=click.File("r"),
    default=None,
    help="RFC 9101: a JSON file with the JWK Set (public keys) its request objects are signed "
    "with; - reads standard input.",
)
@click.option(
    "--require-par",
    is_flag=True,
    help="RFC 9126: its authorization requests must be pushed to /oauth/par first.",
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
    jwks_file: TextIO | None,
    require_par: bool,
    as_json: bool,
) -> None:
    """Register an OAuth client; its secret is printed once."""
    grants = tuple("device_code" if g == DEVICE_GRANT_URN else g for g in grants)
    from webapp.extensions import db, identity
    from webapp.identity.backchannel import validate_backchannel_uri
    from webapp.identity.delegation import OPERATOR
    from webapp.identity.errors import IdentityError

    jwks = None
    if jwks_file is not None:
        try:
            jwks = json.load(jwks_file)
        except ValueError as exc:
            click.echo(f"Error: --jwks-file is not JSON: {exc}", err=True)
            sys.exit(2)
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
            jwks=jwks,
            require_pushed_requests=require_par,
            actor="cli",
            holder=OPERATOR,
        )
        db.session.commit()
        if backchannel_logout_uri:
            identity().backchannel.set_uri(
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
