"""A process's connections, built from the settings tree: the database engine and Redis.

The web app hands the engine options to Flask-SQLAlchemy; the job worker, cron and
``rotate-keys`` build their engine here directly, with the same options and the same SQLite
rules, so every process opens the same database the same way.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import redis
from redis.sentinel import Sentinel, SentinelConnectionPool
from sqlalchemy import Engine, create_engine, event, make_url, pool

from webapp.settings import Settings
from webapp.settings.redis import SentinelTarget, parse_sentinel_url


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()


def engine_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for the engine (Flask-SQLAlchemy's SQLALCHEMY_ENGINE_OPTIONS)."""
    if settings.sqlalchemy_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15, "check_same_thread": False}}
    options: dict[str, Any] = {"pool_pre_ping": True}  # a connection cut by a failover is replaced
    if "connect_timeout" not in make_url(settings.sqlalchemy_url).query:
        # a host that does not answer (a failed primary's address) is given up on in 5 s and
        # libpq tries the next host of a multi-host URL
        options["connect_args"] = {"connect_timeout": 5}
    return options


def database_engine(settings: Settings) -> Engine:
    """The engine of a process without Flask: Flask-SQLAlchemy's SQLite rules included (an
    in-memory database on one static connection, a relative file under the instance path)."""
    url = make_url(settings.sqlalchemy_url)
    options = engine_options(settings)
    if url.drivername in {"sqlite", "sqlite+pysqlite"}:
        if url.database in {None, "", ":memory:"}:
            options["poolclass"] = pool.StaticPool
        else:
            is_uri = bool(url.query.get("uri", False))
            path = url.database[5:] if is_uri else url.database
            if path is not None and not os.path.isabs(path):
                instance = str(settings.instance_path.resolve())
                os.makedirs(instance, exist_ok=True)
                path = os.path.join(instance, path)
                url = url.set(database=f"file:{path}" if is_uri else path)
    return create_engine(url, **options)


def redis_client(url: str | None, *, socket_timeout: float | None = 2) -> redis.Redis:
    """The Redis client: a real server, the master Redis Sentinel names for a
    ``redis+sentinel://`` URL (found again after every failover), or the embedded stand-in in
    dev mode only. ``socket_timeout=None`` for blocking reads (the RQ worker's dequeue)."""
    if url:
        target = parse_sentinel_url(url)
        if target is not None:
            return sentinel_master(target, socket_timeout=socket_timeout)
        return redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=socket_timeout, health_check_interval=30
        )
    import fakeredis  # dev-mode stand-in: never used when LIMEN_REDIS_URL is set

    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


def sentinel_master(target: SentinelTarget, *, socket_timeout: float | None = 2) -> redis.Redis:
    """A client of the master ``target`` names: each new connection asks the Sentinels where
    the master is, and connections to a master that moved are closed (redis-py's Sentinel)."""
    sentinel = Sentinel(
        list(target.sentinels),
        sentinel_kwargs={"socket_connect_timeout": 1, "socket_timeout": 1, **target.auth()},
        socket_connect_timeout=2,
        socket_timeout=socket_timeout,
        health_check_interval=30,
        db=target.db,
        **target.auth(),
    )
    return sentinel.master_for(target.master)


def current_master(client: redis.Redis) -> tuple[str, int] | None:
    """Where the Sentinels say ``client``'s master is now; None for a client of one plain
    server. Raises MasterNotFoundError (a ConnectionError) while no Sentinel knows one."""
    pool = client.connection_pool
    if not isinstance(pool, SentinelConnectionPool):
        return None
    host, port = pool.get_master_address()
    return str(host), int(port)
