"""`limen-server check` with a Sentinel URL an operator got wrong: each mistake named with its
fix, the exit status 1, and the URL's password never printed."""

from __future__ import annotations

import pytest

from tests.conftest import base_env
from tests.e2e.test_server_cli import limen_server
from tests.support.services import free_port


@pytest.mark.parametrize(
    ("redis_url", "words"),
    [
        ("redis+sentinel://:hunter2-secret@127.0.0.1:26379", "names the master after the hosts"),
        ("redis+sentinel://:hunter2-secret@127.0.0.1:26379/limen?db=1", "takes no query"),
        ("redis+cluster://:hunter2-secret@127.0.0.1:7000/0", "Redis Cluster is not supported"),
        ("redis+sentinel://127.0.0.1:26379,127.0.0.1:http/limen", "is not a port"),
    ],
)
def test_check_explains_a_malformed_sentinel_url(redis_url, words, make_database):
    env = base_env(redis_url, make_database("sqlite"), LIMEN_ISSUER="http://127.0.0.1:9")
    result = limen_server("check", env=env)
    assert result.returncode == 1
    assert words in result.stdout, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stdout + result.stderr


def test_check_explains_sentinels_that_do_not_answer(make_database):
    url = f"redis+sentinel://:hunter2-secret@127.0.0.1:{free_port()}/limen/0"
    env = base_env(url, make_database("sqlite"), LIMEN_ISSUER="http://127.0.0.1:9")
    result = limen_server("check", env=env)
    assert result.returncode == 1
    assert "Sentinel master 'limen' at not found" in result.stdout
    assert "0 of 1 Sentinels answered" in result.stdout
    assert "names a live master" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr
