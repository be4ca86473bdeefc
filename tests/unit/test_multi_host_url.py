"""libpq multi-host database URLs become SQLAlchemy's form; everything else stays as it is."""

from __future__ import annotations

import pytest
from sqlalchemy import make_url

from webapp.settings import Settings, effective_settings, multi_host_url


def test_several_hosts_become_host_parameters_and_only_a_primary_is_accepted():
    url = multi_host_url("postgresql+psycopg://limen:pw@pg-a:5432,pg-b:5433/limen?sslmode=require")
    parsed = make_url(url)
    assert parsed.query["host"] == ("pg-a:5432", "pg-b:5433")
    assert parsed.query["target_session_attrs"] == "read-write"
    assert parsed.query["sslmode"] == "require"
    assert (parsed.username, parsed.password, parsed.database) == ("limen", "pw", "limen")


def test_the_urls_own_session_attrs_win():
    url = multi_host_url("postgresql+psycopg://u@a,b/db?target_session_attrs=any")
    assert make_url(url).query["target_session_attrs"] == "any"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://u:p@one:5432/db",
        "sqlite:////tmp/x.db",
        "postgresql+psycopg://u@/db?host=/run/postgresql",
        "not a url",
        "",
    ],
)
def test_other_urls_are_unchanged(url):
    assert multi_host_url(url) == url


def test_the_settings_tree_uses_it_and_masks_the_password():
    settings = Settings(database_url="postgresql://limen:s3cret@pg-a:5432,pg-b:5432/limen")
    assert make_url(settings.sqlalchemy_url).query["host"] == ("pg-a:5432", "pg-b:5432")
    shown = dict(effective_settings(settings))["LIMEN_DATABASE_URL"]
    assert "s3cret" not in shown and "pg-a:5432,pg-b:5432" in shown
