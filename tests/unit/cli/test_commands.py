"""Commands in-process, without a server: exit codes, messages, and what is (not) written."""

from __future__ import annotations

import json
import os
import socket

import pytest

from cli_plugins.commands.tokens import shell_exports
from cli_plugins.config import Config
from cli_plugins.credentials import FileStore

from .conftest import invoke, make_credentials


def dead_server() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def logged_in(config_dir, server: str, profile: str = "default") -> FileStore:
    store = FileStore(config_dir / "credentials.json")
    store.save(profile, make_credentials(server=server))
    config = Config.load(config_dir)
    config.update_profile(profile, server=server, storage="file", user="ana@example.com")
    config.default_profile = config.default_profile or profile
    config.save()
    return store


def test_status_when_not_logged_in_is_exit_3(config_dir):
    result = invoke("status")
    assert result.exit_code == 3
    assert "limen login" in result.stderr and "Traceback" not in result.output


def test_two_providers_at_once_is_a_usage_error(config_dir):
    result = invoke("login", "--browser", "--device")
    assert result.exit_code == 2 and "Choose one" in result.stderr


def test_unknown_option_is_a_usage_error(config_dir):
    assert invoke("token", "--nope").exit_code == 2


@pytest.mark.parametrize("variable", ["LIMEN_TOKEN", "LIMEN_API_KEY"])
def test_login_refuses_to_prompt_when_the_environment_has_a_credential(
    config_dir, monkeypatch, variable
):
    monkeypatch.setenv(variable, "eyJsomething")
    result = invoke("login", "--password")
    assert result.exit_code == 2 and variable in result.stderr
    assert not (config_dir / "credentials.json").exists()


def test_forcing_an_unusable_keyring_fails_before_any_login_step(config_dir):
    result = invoke("login", "--device", "--storage", "keyring", "--server", dead_server())
    assert result.exit_code == 2 and "no usable OS keyring" in result.stderr
    assert "Cannot reach" not in result.stderr


def test_logout_forgets_locally_when_the_server_is_unreachable(config_dir):
    server = dead_server()
    store = logged_in(config_dir, server)
    result = invoke("logout")
    assert result.exit_code == 1
    assert "Could not revoke" in result.stderr and "Cannot reach" in result.stderr
    assert "Forgot the credentials" in result.stderr
    assert store.load("default") is None


def test_unreachable_server_is_explained(config_dir):
    logged_in(config_dir, dead_server())
    result = invoke("whoami")
    assert result.exit_code == 1 and "Cannot reach the Limen server" in result.stderr
    assert "Traceback" not in result.output


def test_loose_credentials_file_is_refused_with_the_fix(config_dir):
    store = logged_in(config_dir, dead_server())
    os.chmod(store.path, 0o644)
    result = invoke("token")
    assert result.exit_code == 1
    assert f"chmod 600 {store.path}" in result.stderr


def test_api_never_sends_credentials_to_another_host(config_dir):
    logged_in(config_dir, dead_server())
    result = invoke("api", "GET", "https://elsewhere.example.com/steal")
    assert result.exit_code == 2 and "sends credentials only" in result.stderr


def test_credentials_for_another_server_are_not_used(config_dir):
    logged_in(config_dir, "http://127.0.0.1:1")
    result = invoke("token", "--server", "http://127.0.0.1:2")
    assert result.exit_code == 3 and "not to http://127.0.0.1:2" in result.stderr


def test_profiles_use_list_remove(config_dir):
    logged_in(config_dir, "http://127.0.0.1:1", "work")
    logged_in(config_dir, "http://127.0.0.1:2", "home")
    assert invoke("profiles", "use", "nope").exit_code == 2
    assert invoke("profiles", "use", "home").exit_code == 0
    listing = json.loads(invoke("profiles", "list", "--json").stdout)
    assert listing["active"] == "home"
    # Stored, but their servers cannot say whether the sessions still work.
    assert {p["name"]: p["logged_in"] for p in listing["profiles"]} == {"home": None, "work": None}
    assert "Cannot reach" in listing["profiles"][0]["reason"]
    removed = invoke("profiles", "remove", "work")
    assert removed.exit_code == 0 and "could not revoke" in removed.stderr
    assert "work" not in Config.load(config_dir).profiles


def test_export_env_format_is_shell_quoted():
    data = {"server": "http://limen.test", "access_token": "eyJ it's", "expires_at": None}
    assert "export LIMEN_TOKEN='eyJ it'\"'\"'s'\n" in shell_exports(data)


def test_login_without_a_terminal_does_not_start_a_browser_login_by_itself(config_dir, monkeypatch):
    monkeypatch.setenv("LIMEN_PROVIDER", "browser")
    result = invoke("login", "--server", dead_server())
    assert result.exit_code == 2 and "No terminal here" in result.stderr


def test_a_browser_command_in_limen_browser_reaches_the_person(config_dir, monkeypatch):
    monkeypatch.setenv("LIMEN_PROVIDER", "browser")
    monkeypatch.setenv("LIMEN_BROWSER", "xdg-open")
    result = invoke("login", "--server", dead_server())
    assert result.exit_code == 1 and "Cannot reach" in result.stderr  # it went on to sign in


@pytest.mark.parametrize("way", ["--device", "--api-key", "--client-credentials"])
@pytest.mark.parametrize("ask", [("--max-age", "0"), ("--acr-values", "urn:limen:acr:2fa")])
def test_a_step_up_login_must_be_a_fresh_sign_in(config_dir, way, ask):
    result = invoke("login", way, *ask, "--server", dead_server())
    assert result.exit_code == 2, result.output
    assert "fresh sign-in" in result.stderr and "--browser" in result.stderr


def test_max_age_takes_whole_seconds(config_dir):
    assert invoke("login", "--browser", "--max-age", "-1").exit_code == 2
    assert invoke("login", "--browser", "--max-age", "soon").exit_code == 2
