"""`limen-server check`: every problem with the deployment, each with what to do."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import redis
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session as DbSession

from webapp.identity.crypto import derive_fernet
from webapp.identity.signing_keys import KeyRing
from webapp.settings import Settings


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _schema_heads() -> set[str]:
    from webapp import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(cfg).get_heads())


def check_database(settings: Settings) -> list[str]:
    url = settings.sqlalchemy_url
    shown = make_url(url).render_as_string(hide_password=True)
    args = {"connect_timeout": 3} if url.startswith("postgresql") else {}
    engine = create_engine(url, connect_args=args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
            heads = _schema_heads()
            if current != heads:
                return [
                    f"Database {shown} is at schema {sorted(current) or 'empty'}, this code "
                    f"expects {sorted(heads)}: run `limen-server db upgrade`."
                ]
            return _check_keys(settings, DbSession(bind=conn))
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return [
            f"Database {shown} cannot be reached ({reason}): is the server running and "
            "LIMEN_DATABASE_URL right?"
        ]
    finally:
        engine.dispose()


def _check_keys(settings: Settings, session: DbSession) -> list[str]:
    if settings.secret_key is None:
        return []
    ring = KeyRing(
        session,
        derive_fernet(settings.secret_key_value(), b"signing-keys"),
        lambda: datetime.now(UTC),
    )
    bad = ring.check_decryptable()
    if bad:
        return [
            f"Signing key(s) {', '.join(bad)} cannot be decrypted with this LIMEN_SECRET_KEY: "
            "every node must use the same secret key (compare it with the node that created "
            "them)."
        ]
    return []


def check_redis(settings: Settings) -> list[str]:
    if not settings.redis_url:
        return []
    shown = safe_url(settings.redis_url)
    try:
        client = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=2, socket_timeout=2
        )
        client.ping()
        client.close()
    except redis.exceptions.ConnectionError as exc:
        return [f"Redis at {shown} refused the connection: is redis-server running? ({exc})"]
    except redis.exceptions.RedisError as exc:
        return [f"Redis at {shown} answered with an error ({exc}): check the URL and password."]
    return []


def run_checks(settings: Settings) -> list[str]:
    return [*settings.problems(), *check_database(settings), *check_redis(settings)]
