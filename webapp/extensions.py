"""Extension objects, created at import and bound to an app in ``init_app``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import redis
from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from webapp.connections import redis_client
from webapp.models import Base

if TYPE_CHECKING:
    from webapp.identity import Identity
    from webapp.jobs import JobsRuntime

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"  # Alembic

db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


class RedisHolder:
    """The app's Redis client: a real server, or the embedded stand-in in dev mode only."""

    def init_app(self, app: Flask, url: str | None) -> None:
        app.extensions["limen.redis"] = redis_client(url)

    @property
    def client(self) -> redis.Redis:
        return cast(redis.Redis, current_app.extensions["limen.redis"])


redis_store = RedisHolder()


def identity() -> Identity:
    """The application's identity services (built once in ``create_app``)."""
    return cast("Identity", current_app.extensions["limen.identity"])


def jobs_runtime() -> JobsRuntime:
    """The application's jobs runtime: what views enqueue through (built in ``create_app``)."""
    return cast("JobsRuntime", current_app.extensions["limen.jobs"])


def migrations(app: Flask) -> Any:
    """Flask-Migrate's configuration for ``app`` (registered on first use): only the commands
    and tests that migrate import it and Alembic, so a serving worker is 11 MB lighter."""
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    return app.extensions["migrate"]
