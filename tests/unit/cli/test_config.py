"""Precedence: flags > environment > profile (.limen-profile, default_profile) > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_plugins.config import DEFAULT_SERVER, Config, Flags, normalize_server, resolve
from cli_plugins.errors import UsageError


def config_with(tmp_path: Path, **profiles: dict[str, str]) -> Config:
    config = Config(tmp_path / "config.toml")
    for name, table in profiles.items():
        config.update_profile(name, **table)
    return config


@pytest.mark.parametrize(
    ("flag", "env", "stored", "expected"),
    [
        ("http://flag.test", "http://env.test", "http://profile.test", "http://flag.test"),
        (None, "http://env.test", "http://profile.test", "http://env.test"),
        (None, None, "http://profile.test", "http://profile.test"),
        (None, None, None, DEFAULT_SERVER),
    ],
)
def test_server_precedence(tmp_path, flag, env, stored, expected):
    config = config_with(tmp_path, default={"server": stored} if stored else {})
    environ = {"LIMEN_SERVER": env} if env else {}
    settings = resolve(Flags(server=flag), environ, tmp_path, config)
    assert settings.server == expected


@pytest.mark.parametrize(
    ("flag", "env", "file", "default", "expected"),
    [
        ("flag", "env", "file", "conf", "flag"),
        (None, "env", "file", "conf", "env"),
        (None, None, "file", "conf", "file"),
        (None, None, None, "conf", "conf"),
        (None, None, None, None, "default"),
    ],
)
def test_profile_precedence(tmp_path, flag, env, file, default, expected):
    config = config_with(tmp_path)
    config.default_profile = default
    project = tmp_path / "project" / "deep" / "dir"
    project.mkdir(parents=True)
    if file:
        (tmp_path / "project" / ".limen-profile").write_text(f"# team profile\n{file}\n")
    environ = {"LIMEN_PROFILE": env} if env else {}
    settings = resolve(Flags(profile=flag), environ, project, config)
    assert settings.profile == expected


def test_profile_setting_comes_from_the_selected_profile(tmp_path):
    config = config_with(tmp_path, work={"server": "https://work.test", "storage": "file"}, home={})
    settings = resolve(Flags(profile="work"), {}, tmp_path, config)
    assert (settings.server, settings.storage) == ("https://work.test", "file")
    assert settings.server_source == "profile 'work'"


def test_storage_env_beats_profile_and_flag_beats_env(tmp_path):
    config = config_with(tmp_path, default={"storage": "keyring"})
    env = {"LIMEN_STORAGE": "file"}
    assert resolve(Flags(), env, tmp_path, config).storage == "file"
    assert resolve(Flags(storage="keyring"), env, tmp_path, config).storage == "keyring"


@pytest.mark.parametrize("name", ["../etc", "", "a b", "x" * 65])
def test_bad_profile_names_are_usage_errors(tmp_path, name):
    with pytest.raises(UsageError):
        resolve(Flags(profile=name), {}, tmp_path, config_with(tmp_path))


@pytest.mark.parametrize("url", ["ftp://x", "not a url", "https://x/?q=1"])
def test_bad_server_urls_are_usage_errors(url):
    with pytest.raises(UsageError):
        normalize_server(url)


def test_server_url_loses_trailing_slash():
    assert normalize_server("https://id.example.com/") == "https://id.example.com"


def test_config_round_trips_and_refuses_secrets(tmp_path):
    config = config_with(tmp_path, work={"server": "https://w.test", "user": "a@example.com"})
    config.default_profile = "work"
    config.save()
    again = Config.load(tmp_path)
    assert again.default_profile == "work"
    assert again.profile("work") == {"server": "https://w.test", "user": "a@example.com"}
    with pytest.raises(ValueError, match="not a profile setting"):
        again.update_profile("work", refresh_token="x")
    with pytest.raises(ValueError, match="secret-looking"):
        again.update_profile("work", user="limen_abcdefgh_" + "x" * 38)


def test_invalid_toml_is_reported_with_its_path(tmp_path):
    (tmp_path / "config.toml").write_text("this is = = not toml")
    with pytest.raises(UsageError, match=r"config\.toml"):
        Config.load(tmp_path)
