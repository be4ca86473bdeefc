"""The identity services called directly, in process: ``Identity`` built against a real
database (SQLite and PostgreSQL, migrated once per module) and the private redis-server.

``core`` is the ONE place the services are built; each test gets its own DB session and
clock. Tests isolate by data (fresh emails, fresh clients) inside the module's database."""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from flask_migrate import upgrade
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as DbSession

from tests.conftest import BACKENDS, TEST_SECRET
from webapp import create_app
from webapp.extensions import db, migrations
from webapp.identity import Credential, Identity, Principal, RequestMeta, build_passwords
from webapp.identity.tokens import TokenSet
from webapp.models import User, utcnow
from webapp.settings import Settings

PASSWORD = "correct horse battery staple"
META = RequestMeta(ip="127.0.0.1", request_id="service-test")


class Clock:
    """Real time, which a test may move forward (TOTP steps, expiry)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class Core:
    identity: Identity
    db: DbSession
    redis: redis.Redis
    clock: Clock

    def user(self, roles: tuple[str, ...] = ("analyst",), password: str | None = PASSWORD) -> User:
        """A committed local user with a fresh email."""
        email = f"u{secrets.token_hex(5)}@example.com"
        user = self.identity.accounts.create_user(email, password, roles=roles)
        self.db.commit()
        return user

    def sign_in(self, user: User) -> TokenSet:
        """A portal session for ``user``, through the real password path."""
        return self.identity.password_login(user.email, PASSWORD, META)

    def principal(self, access_token: str) -> Principal:
        return self.identity.authenticate(Credential(access_token, "bearer"))


@dataclass(frozen=True)
class Migrated:
    settings: Settings
    engine: Engine


@pytest.fixture(scope="module", params=BACKENDS)
def migrated(
    request: pytest.FixtureRequest,
    make_database: Callable[[str], str],
    redis_server: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Migrated]:
    """A fresh database per module and backend, migrated the way production is."""
    settings = Settings(
        env="production",
        secret_key=TEST_SECRET,
        redis_url=redis_server.url,
        database_url=make_database(str(request.param)),
        issuer="http://127.0.0.1:5998",
        cookie_secure=False,
        instance_path=tmp_path_factory.mktemp("instance"),
        argon2_memory_kib=8192,
        argon2_time_cost=1,
        argon2_parallelism=1,
        lockout_threshold=3,
        log_level="WARNING",
    )
    app = create_app(settings)
    with app.app_context(), warnings.catch_warnings():
        # migrations/env.py still calls Flask-SQLAlchemy's deprecated get_engine().
        warnings.filterwarnings("ignore", "'get_engine' is deprecated", DeprecationWarning)
        upgrade(directory=migrations(app).directory)
        db.engine.dispose()
    app.extensions["limen.redis"].close()
    engine = create_engine(settings.sqlalchemy_url)
    yield Migrated(settings, engine)
    engine.dispose()


@pytest.fixture
def core(migrated: Migrated, redis_server: Any) -> Iterator[Core]:
    """Identity built once for the test from a DB session, Redis, settings and a clock."""
    client = redis.Redis.from_url(redis_server.url)
    session = DbSession(migrated.engine)
    clock = Clock()
    identity = Identity(
        db=session,
        redis_client=client,
        settings=migrated.settings,
        passwords=build_passwords(migrated.settings),
        clock=clock,
    )
    try:
        yield Core(identity, session, client, clock)
    finally:
        session.rollback()
        session.close()
        client.close()
