"""The small pure pieces of the credential helpers and of the CLI's messages."""

from __future__ import annotations

import json

import pytest

from cli_plugins.commands.tokens import credential_process
from cli_plugins.config import same_server
from cli_plugins.errors import AuthRequired, Forbidden, UsageError, login_command
from cli_plugins.helpers.docker import registry_key
from cli_plugins.helpers.git import credential_url, read_request
from cli_plugins.helpers.kubectl import exec_credential, requested_version
from cli_plugins.oauth import client_form

from .conftest import invoke


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("git.example.com", "https://git.example.com"),
        ("https://git.example.com/org/repo.git", "https://git.example.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_git_host_becomes_a_credential_url(given, url):
    assert credential_url(given) == url


def test_git_helper_never_sends_tokens_over_plain_http_to_a_remote_host():
    with pytest.raises(UsageError, match="plain HTTP"):
        credential_url("http://git.example.com")


def test_git_request_is_read_up_to_the_blank_line():
    assert read_request("protocol=https\nhost=h\n\nignored=1\n") == {
        "protocol": "https",
        "host": "h",
    }


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("registry.example.com", "registry.example.com"),
        ("https://index.docker.io/v1/", "index.docker.io"),
        ("Reg.Example.com:5000\n", "reg.example.com:5000"),
    ],
)
def test_registry_key(given, key):
    assert registry_key(given) == key


@pytest.mark.parametrize("version", [None, "client.authentication.k8s.io/v1beta1"])
def test_kubectl_version_follows_exec_info(version):
    info = json.dumps({"apiVersion": version}) if version else None
    assert requested_version(info) == (version or "client.authentication.k8s.io/v1")


def test_kubectl_refuses_an_unknown_version():
    with pytest.raises(UsageError, match="v1alpha1"):
        requested_version(json.dumps({"apiVersion": "client.authentication.k8s.io/v1alpha1"}))


def test_exec_credential_and_credential_process_leave_out_a_missing_expiry():
    info = {"access_token": "t", "token_type": "Bearer", "expires_at": None}
    assert "expirationTimestamp" not in exec_credential("v", info)["status"]
    assert "Expiration" not in credential_process(info)
    info["expires_at"] = 0
    assert credential_process(info)["Expiration"] == "1970-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://localhost:5000", "http://127.0.0.1:5000", True),
        ("http://[::1]:5000/", "http://localhost:5000", True),
        ("http://localhost:5000", "http://127.0.0.1:5001", False),
        ("https://id.example.com", "https://id.example.org", False),
    ],
)
def test_loopback_names_are_one_server(a, b, same):
    assert same_server(a, b) is same


def test_a_public_client_names_itself_and_a_confidential_one_authenticates():
    assert client_form("app", None, token="t") == {"token": "t", "client_id": "app"}
    assert client_form("app", object(), token="t") == {"token": "t"}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("profile", "provider", "command"),
    [
        ("default", None, "`limen login`"),
        ("work", None, "`limen login --profile work`"),
        ("work", "exec", "`limen login --provider exec --profile work`"),
    ],
)
def test_login_command_keeps_the_profile(profile, provider, command):
    assert login_command(profile, provider) == command


def test_a_login_hint_is_added_once():
    error = AuthRequired("Session ended.").with_login_hint("work").with_login_hint("work")
    assert error.hint == "Run `limen login --profile work`."


def test_errors_as_json_carry_type_and_exit_code():
    assert Forbidden("no", permission="keys:read").to_dict() == {
        "type": "forbidden",
        "message": "no",
        "hint": None,
        "exit_code": 4,
        "permission": "keys:read",
    }


def test_json_error_for_a_command_given_json(config_dir):
    result = invoke("token", "--json")
    assert result.exit_code == 3
    assert json.loads(result.stderr)["error"]["hint"] == "Run `limen login`."
