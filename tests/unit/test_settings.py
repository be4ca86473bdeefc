"""Settings: production refuses what would be unsafe, and says how to fix it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from webapp import ConfigurationError, create_app
from webapp.settings import Settings

GOOD = {
    "env": "production",
    "secret_key": "s" * 40,
    "issuer": "https://id.example.com",
    "redis_url": "redis://127.0.0.1:1/0",
    "database_url": "postgresql://db/limen",
}


def test_a_good_production_configuration_has_no_problems():
    assert Settings(**GOOD).problems() == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"secret_key": None}, "LIMEN_SECRET_KEY is unset"),
        ({"secret_key": "short"}, "only 5 characters"),
        ({"issuer": "http://id.example.com"}, "https://"),
        ({"cookie_secure": False}, "LIMEN_COOKIE_SECURE=false"),
        ({"redis_url": None}, "LIMEN_REDIS_URL is unset"),
        ({"database_url": None}, "LIMEN_DATABASE_URL is unset"),
        ({"access_token_ttl": 3600, "refresh_token_ttl": 600}, "LIMEN_REFRESH_TOKEN_TTL"),
    ],
)
def test_each_unsafe_setting_is_named_with_its_fix(change, words):
    problems = Settings(**{**GOOD, **change}).problems()
    assert len(problems) == 1 and words in problems[0]


def test_production_app_refuses_to_start_and_lists_every_problem():
    with pytest.raises(ConfigurationError) as caught:
        create_app({"env": "production", "issuer": "http://id.example.com"})
    assert len(caught.value.problems) >= 3


def test_loopback_http_issuer_with_insecure_cookies_is_fine():
    s = Settings(**{**GOOD, "issuer": "http://127.0.0.1:5000", "cookie_secure": False})
    assert s.problems() == []


def test_environment_is_read_and_explicit_values_win(monkeypatch):
    monkeypatch.setenv("LIMEN_ACCESS_TOKEN_TTL", "120")
    monkeypatch.setenv("LIMEN_ISSUER", "https://env.example.com/")
    s = Settings(issuer="https://explicit.example.com")
    assert s.access_token_ttl == 120
    assert s.issuer == "https://explicit.example.com"


@pytest.mark.parametrize("issuer", ["ftp://x", "id.example.com", "https://x/?a=b"])
def test_malformed_issuers_are_rejected(issuer):
    with pytest.raises(ValidationError):
        Settings(issuer=issuer)


def test_postgres_urls_get_the_psycopg_driver():
    assert Settings(database_url="postgres://u@h/d").sqlalchemy_url == "postgresql+psycopg://u@h/d"
