"""An in-process Limen app on the private redis-server and a fresh database, with a clock the
test moves; jobs run through the same RQ queue, registries and retries a worker uses."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from flask import Flask
from flask_migrate import upgrade

from tests.conftest import TEST_SECRET
from webapp import create_app
from webapp.extensions import db, migrations
from webapp.identity import Identity, RequestMeta, build_passwords
from webapp.identity.tokens import Grant, TokenSet
from webapp.jobs import JobsRuntime, run_pending
from webapp.jobs.runs import get
from webapp.models import User
from webapp.settings import JobSettings

# Each test gets its own Redis database (1..15): queues, locks and sessions never mix.
_DB_INDEX = itertools.cycle(range(1, 16))


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class JobsHarness:
    app: Flask
    clock: FakeClock
    redis_url: str

    @property
    def identity(self) -> Identity:
        return self.app.extensions["limen.identity"]  # type: ignore[no-any-return]

    @property
    def jobs(self) -> JobsRuntime:
        return self.app.extensions["limen.jobs"]  # type: ignore[no-any-return]

    def run_jobs(self) -> int:
        return run_pending(self.jobs)

    def run(self, name: str, **params: Any) -> dict[str, Any]:
        """Enqueue a job and run the queue; the job's summary."""
        run_id = self.jobs.enqueue(name, trigger="manual", params=params)
        self.run_jobs()
        row = get(self.jobs.engine, run_id)
        assert row is not None and row.status == "succeeded", row and row.error
        return dict(row.summary)

    def user(self, email: str, roles: tuple[str, ...] = ("analyst",)) -> User:
        user = self.identity.accounts.create_user(
            email, "correct horse battery staple", roles=roles
        )
        db.session.commit()
        return user

    def login(self, user: User, client_id: str = "limen-portal") -> TokenSet:
        grant = Grant(
            subject=user.id,
            user_id=user.id,
            roles=user.role_names,
            scopes=("profile",),
            client_id=client_id,
            auth_method="password",
        )
        tokens = self.identity.tokens.start_session(grant, RequestMeta(ip="127.0.0.1"))
        db.session.commit()  # the test is the boundary of this unit of work
        return tokens


@pytest.fixture
def make_harness(
    redis_server: Any, make_database: Callable[[str], str], tmp_path: Any
) -> Iterator[Callable[..., JobsHarness]]:
    apps: list[Flask] = []

    def make(
        backend: str = "sqlite",
        jobs: dict[str, Any] | None = None,
        wired: bool = False,
        **settings: Any,
    ) -> JobsHarness:
        """``wired``: revocations and committed mails enqueue their jobs (as in the app)."""
        index = next(_DB_INDEX)
        redis_url = redis_server.url.rsplit("/", 1)[0] + f"/{index}"
        with redis.Redis.from_url(redis_url) as client:
            client.flushdb()
        base: dict[str, Any] = {
            "env": "production",
            "secret_key": TEST_SECRET,
            "redis_url": redis_url,
            "database_url": make_database(backend),
            "issuer": "http://127.0.0.1:5999",
            "cookie_secure": False,
            "instance_path": tmp_path,
            "argon2_memory_kib": 8192,
            "argon2_time_cost": 1,
            "argon2_parallelism": 1,
            "log_level": "WARNING",
        }
        app = create_app({**base, **settings})
        clock = FakeClock()
        s = app.extensions["limen.settings"]
        with app.app_context(), warnings.catch_warnings():
            # migrations/env.py still calls Flask-SQLAlchemy's deprecated get_engine().
            warnings.filterwarnings("ignore", "'get_engine' is deprecated", DeprecationWarning)
            upgrade(directory=migrations(app).directory)
        identity = Identity(
            db=db.session,  # type: ignore[arg-type]
            redis_client=app.extensions["limen.redis"],
            settings=s,
            passwords=build_passwords(s),
            clock=clock,
        )
        app.extensions["limen.identity"] = identity
        # The app's jobs runtime again, on this identity (its clock) and these job settings;
        # unwired unless asked, so a test enqueues and runs exactly the jobs it means to.
        runtime = JobsRuntime(
            identity=identity,
            redis_client=app.extensions["limen.redis"],
            engine=app.extensions["limen.jobs"].engine,
            settings=s,
            jobs=JobSettings(**(jobs or {})),
            scope=app.app_context,
        )
        if wired:
            runtime.wire()
        app.extensions["limen.jobs"] = runtime
        apps.append(app)
        return JobsHarness(app, clock, redis_url)

    yield make
    for app in apps:
        app.extensions["limen.jobs"].close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        app.extensions["limen.redis"].close()


@pytest.fixture
def harness(make_harness: Callable[..., JobsHarness]) -> JobsHarness:
    return make_harness()
