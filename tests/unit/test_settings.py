"""Settings: production refuses what would be unsafe, and says how to fix it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from webapp import ConfigurationError, create_app
from webapp.settings import (
    Settings,
    effective_settings,
    unknown_variables,
    upstream_from_environ,
)

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


def test_a_misspelled_variable_is_an_error_with_a_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("LIMEN_ACESS_TOKEN_TTL", "120")
    with pytest.raises(ConfigurationError) as caught:
        create_app({"env": "development", "instance_path": tmp_path})
    assert caught.value.problems == [
        "LIMEN_ACESS_TOKEN_TTL is not a Limen setting: did you mean LIMEN_ACCESS_TOKEN_TTL?"
    ]


@pytest.mark.parametrize(
    "name", ["LIMEN_ACCESS_TOKEN_TTL", "LIMEN_KEY_ROTATION_DAYS", "LIMEN_SERVER", "LIMEN_TOKEN"]
)
def test_every_setting_jobs_and_cli_variables_are_known(name):
    assert unknown_variables({name: "1"}) == []


def test_upstream_variables_are_known_only_for_named_providers():
    env = {**CORP, "LIMEN_UPSTREAM_OTHER_ISSUER": "https://other"}
    assert unknown_variables(env) == [
        "LIMEN_UPSTREAM_OTHER_ISSUER is not a Limen setting: did you mean "
        "LIMEN_UPSTREAM_CORP_ISSUER?"
    ]


CORP = {
    "LIMEN_UPSTREAM_PROVIDERS": "corp",
    "LIMEN_UPSTREAM_CORP_ISSUER": "https://idp.example.com/",
    "LIMEN_UPSTREAM_CORP_CLIENT_ID": "limen",
    "LIMEN_UPSTREAM_CORP_CLIENT_SECRET": "upstream-secret-value",
    "LIMEN_UPSTREAM_CORP_ROLE_MAP": "admins=admin",
}


def test_upstream_providers_are_a_section_of_the_one_settings_tree(monkeypatch):
    for name, value in CORP.items():
        monkeypatch.setenv(name, value)
    (corp,) = Settings().upstream
    assert (corp.name, corp.issuer, corp.role_map) == (
        "corp",
        "https://idp.example.com",
        {"admins": "admin"},
    )


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("LIMEN_UPSTREAM_CORP_CLIENT_ID", "", "LIMEN_UPSTREAM_CORP_CLIENT_ID is required"),
        ("LIMEN_UPSTREAM_CORP_ROLE_MAP", "admins", "must look like 'group=admin'"),
        ("LIMEN_UPSTREAM_CORP_TYPE", "saml", "must be oidc or github"),
    ],
)
def test_a_broken_provider_section_stops_start_up(monkeypatch, tmp_path, variable, value, words):
    for name, v in {**CORP, variable: value}.items():
        monkeypatch.setenv(name, v)
    with pytest.raises(ConfigurationError) as caught:
        create_app({"env": "development", "instance_path": tmp_path})
    assert words in caught.value.problems[0]


def test_explicit_sections_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("LIMEN_KEY_ROTATION_DAYS", "7")
    assert Settings().jobs.key_rotation_days == 7
    assert Settings(jobs={"key_rotation_days": 2}).jobs.key_rotation_days == 2


def test_effective_settings_mask_every_secret():
    s = Settings(
        **{**GOOD, "database_url": "postgresql://limen:db-password@db/limen"},
        upstream=upstream_from_environ(CORP),
    )
    shown = dict(effective_settings(s))
    assert shown["LIMEN_SECRET_KEY"] == "********"
    assert shown["LIMEN_DATABASE_URL"] == "postgresql://limen:********@db/limen"
    assert shown["LIMEN_UPSTREAM_CORP_CLIENT_SECRET"] == "********"
    assert shown["LIMEN_KEY_ROTATION_DAYS"] == "30"
    text = repr(shown)
    assert (
        "db-password" not in text and "upstream-secret-value" not in text and "s" * 40 not in text
    )
