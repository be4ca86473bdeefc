"""Extension objects, created at import and bound to an app in ``init_app``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import redis
from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from webapp.connections import redis_client
from webapp.models import Base

if TYPE_CHECKING:
    from webapp.identity import Identity
    from webapp.jobs import JobsRuntime

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"  # Alembic

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
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
