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

from webapp.models import Base

if TYPE_CHECKING:
    from webapp.identity import Identity

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"  # Alembic

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


class RedisHolder:
    """The app's Redis client: a real server, or the embedded stand-in in dev mode only."""

    def init_app(self, app: Flask, url: str | None) -> None:
        if url:
            client = redis.Redis.from_url(
                url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30
            )
        else:
            import fakeredis  # dev-mode stand-in: never used when LIMEN_REDIS_URL is set

            client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        app.extensions["limen.redis"] = client

    @property
    def client(self) -> redis.Redis:
        return cast(redis.Redis, current_app.extensions["limen.redis"])


redis_store = RedisHolder()


def identity() -> Identity:
    """The application's identity services (built once in ``create_app``)."""
    return cast("Identity", current_app.extensions["limen.identity"])
