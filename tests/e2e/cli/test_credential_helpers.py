"""Limen tokens for the tools people already use: the real git through `limen setup-git`,
and docker's and kubectl's documented JSON protocols spoken by the real helper processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.git_remote import LimenGitRemote, make_bare_repo

from .conftest import me

DOCKER_HELPER = str(Path(sys.executable).parent / "docker-credential-limen")
EXEC_INFO = {"kind": "ExecCredential", "spec": {"interactive": False}}


def git(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=90, check=False
    )


@pytest.fixture
def git_env(limen, tmp_path) -> dict[str, str]:
    """git with its own global config and no prompts, seeing the test's limen profile."""
    home = tmp_path / "home"
    home.mkdir()
    return limen.env(
        HOME=str(home),
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
    )


def test_git_clones_with_the_limen_token_after_setup_git(
    limen, account, cli_server, git_env, tmp_path
):
    limen.login(account)
    make_bare_repo(tmp_path / "served", "hello from a Limen-protected remote\n")
    with LimenGitRemote(tmp_path / "served", cli_server.url) as remote:
        url = f"{remote.url}/repo.git"
        assert git(git_env, "clone", "-q", url, "before", cwd=tmp_path).returncode != 0
        setup = limen.run("setup-git", "--host", remote.url, env=git_env)
        assert setup.returncode == 0, setup.stderr
        cloned = git(git_env, "clone", "-q", url, "after", cwd=tmp_path)
        assert cloned.returncode == 0, cloned.stderr
        assert (tmp_path / "after" / "README").read_text().startswith("hello")
        assert set(remote.seen) == {account.email}
        assert limen.run("logout").returncode == 0
        refused = git(git_env, "clone", "-q", url, "gone", cwd=tmp_path)
        assert refused.returncode != 0


def docker_helper(
    env: dict[str, str], operation: str, stdin: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DOCKER_HELPER, operation],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_docker_credential_helper_protocol(limen, account, cli_server, tmp_path):
    env = limen.env(DOCKER_CONFIG=str(tmp_path / "docker"))
    missing = docker_helper(env, "get", "registry.example.com\n")
    assert missing.returncode == 1
    assert missing.stdout.strip() == "credentials not found in native keychain"
    limen.login(account)
    assert json.loads(docker_helper(env, "list", "").stdout) == {}
    assert limen.run("setup-docker", "registry.example.com", env=env).returncode == 0
    config = json.loads((tmp_path / "docker" / "config.json").read_text())
    assert config["credHelpers"] == {"registry.example.com": "limen"}
    got = docker_helper(env, "get", "registry.example.com\n")
    assert got.returncode == 0, got.stdout + got.stderr
    answer = json.loads(got.stdout)
    assert answer["ServerURL"] == "registry.example.com" and answer["Username"] == "limen"
    assert me(cli_server, answer["Secret"]).json()["email"] == account.email
    assert json.loads(docker_helper(env, "list", "").stdout) == {"registry.example.com": "limen"}
    stored = json.dumps({"ServerURL": "registry.example.com", "Username": "u", "Secret": "s"})
    assert docker_helper(env, "store", stored).returncode == 1
    assert docker_helper(env, "erase", "registry.example.com\n").returncode == 0


@pytest.mark.parametrize(
    "version", ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"]
)
def test_kubectl_exec_credential(limen, account, cli_server, version):
    limen.login(account)
    info = json.dumps({**EXEC_INFO, "apiVersion": version})
    result = limen.run("kubectl-credential", env=limen.env(KUBERNETES_EXEC_INFO=info))
    assert result.returncode == 0, result.stderr
    credential = json.loads(result.stdout)
    assert credential["apiVersion"] == version and credential["kind"] == "ExecCredential"
    assert me(cli_server, credential["status"]["token"]).json()["email"] == account.email
    expiry = datetime.strptime(credential["status"]["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    left = expiry.replace(tzinfo=UTC).timestamp() - time.time()
    assert 0 < left <= 600 + 5  # the server's access-token lifetime


def test_kubectl_exec_credential_without_a_login_is_exit_3(limen):
    result = limen.run(
        "kubectl-credential", env=limen.env(KUBERNETES_EXEC_INFO=json.dumps(EXEC_INFO))
    )
    assert result.returncode == 3 and result.stdout == "" and "limen login" in result.stderr


def test_credential_process_output(limen, account, cli_server):
    limen.login(account)
    result = limen.run("token", "--format", "credential-process")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["Version"] == 1 and document["TokenType"] == "Bearer"
    assert me(cli_server, document["AccessToken"]).status_code == 200
    assert datetime.strptime(document["Expiration"], "%Y-%m-%dT%H:%M:%SZ")
