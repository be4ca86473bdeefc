"""Fixtures that start the real parts: a private redis-server, a private PostgreSQL cluster,
and Limen itself under granian — once per session, cleaned up at the end."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.factories import Api
from tests.support.leaks import find_leaks
from tests.support.live import STARTED, LiveServer
from tests.support.services import PostgresCluster, RedisServer

TEST_SECRET = "test-secret-key-" + "x" * 40
BACKENDS = ("sqlite", "postgresql")


def base_env(redis_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production-mode Limen node under test (loopback issuer)."""
    env = {
        "LIMEN_ENV": "production",
        "LIMEN_SECRET_KEY": TEST_SECRET,
        "LIMEN_REDIS_URL": redis_url,
        "LIMEN_DATABASE_URL": database_url,
        "LIMEN_COOKIE_SECURE": "false",
        # argon2id at its smallest allowed cost (8 MiB, one pass): thousands of sign-ins in
        # the suite; the production cost is tested by tests/unit/identity/test_password_bound.py
        "LIMEN_ARGON2_MEMORY_KIB": "8192",
        "LIMEN_ARGON2_TIME_COST": "1",
        "LIMEN_ARGON2_PARALLELISM": "1",
        "LIMEN_RATELIMIT_LOGIN": "10000/minute",
        "LIMEN_RATELIMIT_REGISTER": "10000/minute",
        "LIMEN_RATELIMIT_LOGIN_ACCOUNT": "10000/minute",
        "LIMEN_LOCKOUT_SECONDS": "4",
        "LIMEN_REFRESH_RETRY_WINDOW": "2",
        "LIMEN_LOG_FORMAT": "json",
    }
    env.update(extra)
    return env


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A test that lost its connection to a node gets the tails of the nodes' logs in its
    report, so a dropped connection can be traced to what the server was doing."""
    report = yield
    excinfo = call.excinfo
    if excinfo is not None and excinfo.errisinstance(httpx.TransportError):
        for node in STARTED:
            tail = "\n".join(node.log_text().splitlines()[-40:])
            report.sections.append((f"log of the node on {node.url}", tail))
    return report


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_node_log() -> Iterator[None]:
    """Every request the suite made is in the logs of the nodes it started (through
    ``start_server`` or built directly): not one secret may appear in them."""
    yield
    leaks = []
    for node in STARTED:
        node.stop()
        leaks += [f"{node.url}: {leak}" for leak in find_leaks(node.log_text())]
    assert not leaks, "secrets in server logs:\n" + "\n".join(leaks[:20])


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def make_database(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Callable[[str], str]:
    """A fresh, empty database URL for a backend (a new PG database or SQLite file)."""

    def make(backend: str) -> str:
        name = f"limen_{secrets.token_hex(4)}"
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / (name + '.db')}"
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        return cluster.create_database(name)

    return make


@pytest.fixture(scope="session")
def start_server(
    redis_server: RedisServer,
) -> Iterator[Callable[..., LiveServer]]:
    """Start a Limen node on a database; every node is stopped at the end of the session."""
    started: list[LiveServer] = []

    def start(
        database_url: str,
        *,
        migrate: bool = True,
        workers: int = 1,
        threads: int = 1,
        **env: str,
    ) -> LiveServer:
        server = LiveServer(
            base_env(redis_server.url, database_url, **env),
            workers=workers,
            threads=threads,
            migrate=migrate,
        )
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """The database the shared deployment runs on (parametrized by pytest_generate_tests)."""
    return str(request.param)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """End-to-end tests on the shared deployment run on PostgreSQL, production's database;
    modules marked ``both_backends`` (where the database's own behaviour is part of what is
    tested: uniqueness, concurrency, transactions, the dev server's paths) run on SQLite too.
    Every service is tested on both in tests/integration."""
    if "backend" not in metafunc.fixturenames:
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0]
        listed = names.replace(" ", "").split(",") if isinstance(names, str) else list(names)
        if "backend" in listed:
            return  # the test names its backends itself
    both = metafunc.definition.get_closest_marker("both_backends") is not None
    params = BACKENDS if both else ("postgresql",)
    metafunc.parametrize("backend", params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def deployment(
    backend: str, make_database: Callable[[str], str], start_server: Callable[..., LiveServer]
) -> tuple[LiveServer, LiveServer]:
    """Two Limen nodes (separate processes) sharing one database, one Redis, one issuer."""
    url = make_database(backend)
    first = start_server(url)
    second = start_server(url, migrate=False, LIMEN_ISSUER=first.url)
    return first, second


@pytest.fixture
def server(deployment: tuple[LiveServer, LiveServer]) -> LiveServer:
    return deployment[0]


@pytest.fixture
def api(server: LiveServer) -> Iterator[Api]:
    with Api(server.url) as client:
        yield client


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(os.environ.get("LIMEN_TEST_ARTIFACTS", Path(__file__).parent / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


_TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier, from its directory (tests/<tier>/...)."""
    root = Path(__file__).parent
    for item in items:
        parts = item.path.relative_to(root).parts if item.path.is_relative_to(root) else ()
        if parts and parts[0] in _TIERS:
            item.add_marker(parts[0])
