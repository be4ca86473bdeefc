"""Where secrets live: a 0600 file (whatever the umask), refused when loose, a keyring when
one is usable, and never in config.toml, non-secret output or logs."""

from __future__ import annotations

import json
import os
import stat
from typing import ClassVar

import pytest
from keyring.backend import KeyringBackend

from tests.support.live import REPO_ROOT

from .conftest import create_api_key


class MemoryKeyring(KeyringBackend):
    """A keyring living in one process, selected with PYTHON_KEYRING_BACKEND."""

    priority: ClassVar[float] = 1  # type: ignore[misc]
    entries: ClassVar[dict[tuple[str, str], str]] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


def mode(path: os.PathLike[str]) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o077, 0o000], ids=["restrictive", "permissive"])
def test_credentials_file_is_0600_under_any_umask(limen, account, umask):
    limen.login(account, umask=umask)
    assert mode(limen.credentials_file) == 0o600
    assert mode(limen.config_dir) == 0o700


def test_loose_credentials_file_is_refused(limen, account):
    limen.login(account)
    os.chmod(limen.credentials_file, 0o644)
    result = limen.run("status")
    assert result.returncode == 1
    assert f"chmod 600 {limen.credentials_file}" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_secret_in_config_output_or_logs(limen, account, cli_server):
    login = limen.login(account)
    key = json.loads(limen.run("keys", "create", "ci", "--scope", "profile", "--json").stdout)[
        "key"
    ]
    stored = limen.stored()
    secrets = [stored["access_token"], stored["refresh_token"], account.password, key]
    runs = [login] + [
        limen.run(*cmd)
        for cmd in (
            ["status"],
            ["status", "--json"],
            ["whoami"],
            ["whoami", "--json"],
            ["profiles", "list"],
            ["profiles", "list", "--json"],
            ["keys", "list"],
            ["providers"],
        )
    ]
    config = (limen.config_dir / "config.toml").read_text()
    for secret in secrets:
        assert secret not in config
        assert secret not in cli_server.log_text()
        for run in runs:
            assert secret not in run.stdout and secret not in run.stderr, run.args


def test_keyring_is_used_when_a_backend_works(limen, account, cli_server):
    key = create_api_key(cli_server, account, "profile")
    env = limen.env(PYTHON_KEYRING_BACKEND=f"{__name__}.MemoryKeyring", PYTHONPATH=str(REPO_ROOT))
    result = limen.run("login", "--api-key", "--secret-stdin", input=key + "\n", env=env)
    assert result.returncode == 0, result.stderr
    assert f"OS keyring ({__name__}.MemoryKeyring)" in result.stderr
    assert "No usable OS keyring" not in result.stderr
    assert not limen.credentials_file.exists()
    assert 'storage = "keyring"' in (limen.config_dir / "config.toml").read_text()


def test_no_keyring_is_announced_before_the_login_step(limen):
    running = limen.start("login", "--device")
    running.wait_for(r"[A-Z0-9]{4}-[A-Z0-9]{4}")
    running.proc.terminate()
    running.finish()
    warning = running.output.index("No usable OS keyring")
    assert warning < running.output.index("enter the code")
    assert str(limen.credentials_file) in running.output
