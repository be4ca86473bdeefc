"""LIMEN_REDIS_URL: one Redis server or a master found through Sentinel; anything else is
refused with words that say what to write instead, never repeating a password."""

from __future__ import annotations

import pytest
from redis.sentinel import MasterNotFoundError

from webapp.connections import current_master, redis_client
from webapp.factory import _ratelimit_storage
from webapp.settings import Settings
from webapp.settings.redis import SentinelTarget, parse_sentinel_url


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://cache:6380/1", "unix:///run/redis.sock"]
)
def test_a_plain_url_is_one_server(url: str) -> None:
    assert parse_sentinel_url(url) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "redis+sentinel://10.0.0.1:26379,10.0.0.2:26380/limen/3",
            SentinelTarget((("10.0.0.1", 26379), ("10.0.0.2", 26380)), "limen", 3),
        ),
        (
            "redis+sentinel://s1,s2/limen",
            SentinelTarget((("s1", 26379), ("s2", 26379)), "limen", 0),
        ),
        (
            "redis+sentinel://:p%40ss@[::1]:26379/my-master/",
            SentinelTarget((("::1", 26379),), "my-master", 0, None, "p@ss"),
        ),
        (
            "REDIS+SENTINEL://app:pw@h:1/m.1/0",
            SentinelTarget((("h", 1),), "m.1", 0, "app", "pw"),
        ),
    ],
)
def test_a_sentinel_url_names_sentinels_master_and_database(
    url: str, expected: SentinelTarget
) -> None:
    assert parse_sentinel_url(url) == expected


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("127.0.0.1:6379", "no scheme"),
        ("redis+cluster://a:7000/0", "Redis Cluster is not supported"),
        ("http://a:1/limen", "not supported"),
        ("redis+sentinel://a:26379", "names the master"),
        ("redis+sentinel://a:26379/limen/0/extra", "names the master"),
        ("redis+sentinel://a:26379/lim en", "not a Sentinel master name"),
        ("redis+sentinel://a:26379/limen/zero", "must be a number"),
        ("redis+sentinel://a:26379/limen/99999", "must be a number"),
        ("redis+sentinel://a:99999/limen", "is not a port"),
        ("redis+sentinel://a:port/limen", "is not a port"),
        ("redis+sentinel://a:1,,b:2/limen", "is not a Sentinel address"),
        ("redis+sentinel:///limen", "is not a Sentinel address"),
        ("redis+sentinel://a:1/limen?db=0", "takes no query"),
        ("redis+sentinel://a:1/limen#x", "takes no query"),
        ("redis+sentinel://a:1/limen\x00", "not a Sentinel master name"),
    ],
)
def test_a_malformed_url_is_refused_with_the_fix(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_sentinel_url(url)


def test_the_problem_never_repeats_the_password() -> None:
    settings = Settings(redis_url="redis+sentinel://:hunter2-secret@a:1/bad name")
    found = [p for p in settings.problems() if "LIMEN_REDIS_URL" in p]
    assert found and "hunter2" not in " ".join(found)


def test_rate_limits_use_the_same_master_and_database() -> None:
    settings = Settings(redis_url="redis+sentinel://:pw@a:1,b:2/limen/4")
    config = _ratelimit_storage(settings)
    assert config["RATELIMIT_STORAGE_URI"] == "redis+sentinel://:pw@a:1,b:2/limen"
    assert config["RATELIMIT_STORAGE_OPTIONS"]["db"] == 4
    assert config["RATELIMIT_STORAGE_OPTIONS"]["use_replicas"] is False


def test_the_client_asks_sentinel_for_the_master() -> None:
    client = redis_client("redis+sentinel://127.0.0.1:1/limen/2")
    pool = client.connection_pool
    assert pool.service_name == "limen"  # type: ignore[attr-defined]
    assert pool.connection_kwargs["db"] == 2
    with pytest.raises(MasterNotFoundError):  # no Sentinel listens on port 1
        current_master(client)
    assert current_master(redis_client("redis://127.0.0.1:1/0")) is None
