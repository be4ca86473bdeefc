"""Self-check of the private Redis/PostgreSQL helpers in ``tests.support.services``."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import redis

from tests.support.services import PostgresCluster, RedisServer, free_port


def test_free_port_is_a_loopback_port() -> None:
    assert 1024 <= free_port() <= 65535


def test_redis_server_starts_answers_and_restarts_on_same_port() -> None:
    with RedisServer() as server:
        port = server.port
        assert server.url == f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(server.url)
        try:
            assert client.ping()
            client.set("k", "v")
            assert client.get("k") == b"v"

            server.stop()
            assert not server.ping()

            server.restart()
            assert server.port == port
            assert client.ping()
            assert client.get("k") is None  # no persistence
        finally:
            client.close()
    assert not server.ping()


@pytest.mark.postgres
def test_postgres_cluster_creates_and_drops_databases() -> None:
    name = f"selfcheck_{uuid.uuid4().hex[:8]}"
    with PostgresCluster() as cluster:
        with psycopg.connect(cluster.admin_url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)

        url = cluster.create_database(name)
        assert url == f"postgresql://postgres@127.0.0.1:{cluster.port}/{name}"
        held = psycopg.connect(url)  # an open session must not block the drop
        try:
            held.execute("CREATE TABLE t (x int)")
            held.commit()
            cluster.drop_database(name)
        finally:
            held.close()

        with psycopg.connect(cluster.admin_url) as conn:
            row = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
            assert row.fetchone() == (0,)
        port = cluster.port
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2)
