"""Unit-test helpers for the CLI: an isolated config dir, a file store, and CliRunner."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import keyring.core
import pytest
from click.testing import CliRunner, Result

from cli_plugins.credentials import Credentials, FileStore
from cli_plugins.main import cli

SERVER = "http://limen.test"


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """LIMEN_CONFIG_DIR in tmp, the file store forced, no LIMEN_* leaking in from outside."""

    for name in list(os.environ):
        if name.startswith("LIMEN_"):
            monkeypatch.delenv(name)
    directory = tmp_path / "config"
    monkeypatch.setenv("LIMEN_CONFIG_DIR", str(directory))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    keyring.core.init_backend()  # never the developer's real keyring
    monkeypatch.chdir(tmp_path)
    yield directory


def make_credentials(**overrides: object) -> Credentials:
    now = time.time()
    values: dict[str, object] = {
        "kind": "oauth",
        "provider": "password",
        "server": SERVER,
        "access_token": "eyJaccess.token.one",
        "refresh_token": "limen_rt_refresh-one",
        "expires_at": now + 600,
        "obtained_at": now,
        "client_id": "limen-cli",
        "email": "ana@example.com",
        "subject": "user-1",
    }
    values.update(overrides)
    return Credentials(**values)  # type: ignore[arg-type]


@pytest.fixture
def file_store(config_dir: Path) -> FileStore:
    return FileStore(config_dir / "credentials.json")


def invoke(*args: str, input: str | None = None) -> Result:
    """Run `limen` in-process (stdin is not a terminal, as in CI)."""
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
