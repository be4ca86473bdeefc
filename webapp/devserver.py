"""What `limen-server dev` adds around the app: its settings (also used by `create-user` and
`create-client` run beside it), live sessions restored after a restart, logs kept in a file so
the banner stays on the first screen, and the banner itself (URL and admin last)."""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import click
import structlog
from flask import Flask
from sqlalchemy import select

MARKER = "dev-server.json"  # written by `limen-server dev` in its instance folder
LOG_FILE = "dev.log"
WILDCARD_HOSTS = ("0.0.0.0", "::", "", "localhost")  # noqa: S104 (names, not a bind)
PRODUCTION_VARIABLES = ("LIMEN_ENV", "LIMEN_DATABASE_URL", "LIMEN_REDIS_URL")


def issuer_for(host: str, port: int) -> str:
    """The dev server's public URL. Wildcard and ``localhost`` binds are called 127.0.0.1,
    the `limen` CLI's default, so the server and the CLI print the same URL."""
    return f"http://{'127.0.0.1' if host in WILDCARD_HOSTS else host}:{port}"


def dev_overrides(instance: Path, issuer: str) -> dict[str, Any]:
    """Development settings on ``instance``; ``issuer`` unless LIMEN_ISSUER names one."""
    overrides: dict[str, Any] = {
        "env": "development",
        "instance_path": instance.resolve(),
        "cookie_secure": False,
    }
    if "LIMEN_ISSUER" not in os.environ:
        overrides["issuer"] = issuer
    return overrides


def write_marker(instance: Path, issuer: str) -> None:
    """Let commands run beside this dev server find its instance (see ``beside_dev_server``)."""
    instance.mkdir(parents=True, exist_ok=True)
    (instance / MARKER).write_text(json.dumps({"issuer": issuer}) + "\n")


def beside_dev_server() -> dict[str, Any] | None:
    """Dev settings when this directory holds a `limen-server dev` instance and nothing in
    the environment configures another deployment; else None (production rules apply)."""
    if any(os.environ.get(name) for name in PRODUCTION_VARIABLES):
        return None
    instance = Path(os.environ.get("LIMEN_INSTANCE_PATH") or "instance")
    try:
        marker = json.loads((instance / MARKER).read_text())
    except (OSError, ValueError):
        return None
    click.echo(f"(Using the development instance in {instance}/ of `limen-server dev`.)", err=True)
    return dev_overrides(instance, str(marker.get("issuer") or issuer_for("127.0.0.1", 5000)))


def restore_sessions() -> int:
    """Write the live record of every session the database still holds as live: the embedded
    Redis stand-in forgets them on restart, and CLI and portal sessions must survive it."""
    from webapp.extensions import db, identity
    from webapp.models import Session

    now = datetime.now(UTC)
    rows = db.session.scalars(
        select(Session).where(Session.revoked_at.is_(None), Session.expires_at > now)
    ).all()
    for row in rows:
        identity().sessions.write(
            row.id,
            user_id=row.user_id,
            client_id=row.client_id,
            auth_method=row.auth_method,
            expires_at=row.expires_at,
            now=now,
        )
    return len(rows)


def reset_admin_password(email: str) -> str:
    """A new random password for the dev admin (unlocked); printed once by the caller."""
    from webapp.extensions import db, identity
    from webapp.models import User

    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        raise click.ClickException(f"No user {email} in this instance.")
    password = secrets.token_urlsafe(18)
    user.password_hash = identity().passwords.hash(password)
    user.failed_login_count, user.locked_until = 0, None
    identity().audit.record("user.password_reset", actor="dev", user_id=user.id)
    db.session.commit()
    return password


def open_log(instance: Path) -> tuple[Path, TextIO]:
    """instance/dev.log, appended to and line-buffered."""
    path = instance.resolve() / LOG_FILE
    return path, path.open("a", buffering=1, encoding="utf-8")


def route_logs(stream: TextIO) -> None:
    """Request, job and library logs go to ``stream``, so the banner stays on screen. Run
    again after migrations: Alembic's logging config replaces the handlers."""
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(stream))
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s [%(name)s] %(message)s"))
    logging.getLogger().handlers[:] = [handler]
    for name in ("werkzeug", "alembic", "rq", "limen"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate, logger.disabled = True, False


def banner(
    app: Flask, *, log_path: Path | None, admin: tuple[str, str | None], restored: int
) -> None:
    """What a developer needs, the URL and the admin last: nothing is printed after it."""
    settings = app.extensions["limen.settings"]
    email, password = admin
    echo = click.echo
    click.secho("Limen DEV MODE — not for production", fg="yellow", bold=True)
    echo(f"  Database: {settings.sqlalchemy_url}")
    echo("  Redis:    " + (settings.redis_url or "embedded in-process stand-in (fakeredis)"))
    if restored:
        echo(f"  Sessions: {restored} live session(s) restored, so CLI logins survive restarts")
    if log_path is not None:
        echo(f"  Logs:     {log_path}  (tail -f it, or run with --verbose)")
    if settings.mail.smtp_url:
        echo("  Mail:     sent through LIMEN_SMTP_URL")
    else:
        echo(f"  Mail:     not sent: DEV MODE outbox at {settings.issuer}/dev/outbox, and here")
    echo(f"  Try:      limen login --server {settings.issuer}")
    echo(f"  URL:      {settings.issuer}")
    if password:
        click.secho(f"  Admin:    {email} / {password}  (shown once: store it now)", fg="green")
    else:
        echo(
            f"  Admin:    {email}  (password shown on the first run; for a new one: "
            "limen-server dev --reset-admin-password)"
        )
    sys.stdout.flush()
