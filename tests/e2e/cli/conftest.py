"""Fixtures for driving the real `limen` executable against live Limen nodes (SQLite only:
the CLI talks HTTP, the database backend is covered by the server's own tests)."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.factories import Account, Api
from tests.support.live import REPO_ROOT, LiveServer

LIMEN = str(Path(sys.executable).parent / "limen")
HOST_ONLY = (
    "PYTHON_KEYRING_BACKEND",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "SSH_CONNECTION",
    "SSH_CLIENT",
    "SSH_TTY",
    "PYTHONPATH",
)


@pytest.fixture(scope="session")
def cli_server(
    make_database: Callable[[str], str], start_server: Callable[..., LiveServer]
) -> LiveServer:
    # Lockouts last long enough to be seen from a loaded machine (the CLI tests never wait one out).
    return start_server(make_database("sqlite"), LIMEN_LOCKOUT_SECONDS="120")


@pytest.fixture(scope="session")
def short_ttl_server(
    make_database: Callable[[str], str], start_server: Callable[..., LiveServer]
) -> LiveServer:
    """A node whose access tokens live 10 s (the minimum), for refresh tests. No retry window:
    any second use of a refresh token counts as reuse and revokes the session."""
    return start_server(
        make_database("sqlite"), LIMEN_ACCESS_TOKEN_TTL="10", LIMEN_REFRESH_RETRY_WINDOW="0"
    )


class Running:
    """A `limen` process whose merged output is read line by line in the background."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}:\n{self.output}") from None
            if line is None:
                raise AssertionError(f"exited before {pattern!r}:\n{self.output}")
            if match := re.search(pattern, line):
                return match

    def finish(self, timeout: float = 60) -> int:
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._reader.join(10)
            assert self.proc.stdout is not None
            self.proc.stdout.close()
        return code

    @property
    def output(self) -> str:
        return "".join(self.lines)


class Limen:
    """The real `limen` executable with its own LIMEN_CONFIG_DIR, pointed at one server."""

    def __init__(self, server: LiveServer, config_dir: Path) -> None:
        self.server = server
        self.config_dir = config_dir

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("LIMEN_") and k not in HOST_ONLY
        }
        env.update(
            LIMEN_CONFIG_DIR=str(self.config_dir),
            LIMEN_SERVER=self.server.url,
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        )
        env.update(extra)
        return env

    def run(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LIMEN, *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
            **kwargs,
        )

    def start(self, *args: str, env: dict[str, str] | None = None) -> Running:
        proc = subprocess.Popen(
            [LIMEN, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env or self.env(),
            text=True,
        )
        return Running(proc)

    def login(
        self, account: Account, *args: str, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        """Password login through --secret-stdin (the quickest way to a stored session)."""
        result = self.run(
            "login",
            "--password",
            "--user",
            account.email,
            "--secret-stdin",
            *args,
            input=account.password + "\n",
            **kwargs,
        )
        assert result.returncode == 0, result.stderr
        return result

    @property
    def credentials_file(self) -> Path:
        return self.config_dir / "credentials.json"

    def stored(self, profile: str = "default") -> dict[str, Any]:
        return dict(json.loads(self.credentials_file.read_text())["profiles"][profile])


@pytest.fixture
def make_limen(tmp_path: Path) -> Callable[..., Limen]:
    def make(server: LiveServer, name: str = "config") -> Limen:
        return Limen(server, tmp_path / name)

    return make


@pytest.fixture
def limen(make_limen: Callable[..., Limen], cli_server: LiveServer) -> Limen:
    return make_limen(cli_server)


@pytest.fixture
def register(cli_server: LiveServer) -> Iterator[Callable[..., Account]]:
    """Register accounts on a server (cli_server unless told otherwise)."""
    clients: list[Api] = []

    def make(server: LiveServer | None = None) -> Account:
        client = Api((server or cli_server).url)
        clients.append(client)
        return client.register()

    yield make
    for client in clients:
        client.http.close()


@pytest.fixture
def account(register: Callable[..., Account]) -> Account:
    return register()


def create_api_key(server: LiveServer, account: Account, *scopes: str) -> str:
    with Api(server.url) as client:
        token = client.login(account)["access_token"]
        response = client.http.post(
            "/api/v1/api-keys",
            json={"name": "e2e", "scopes": list(scopes)},
            headers=client.bearer(token),
        )
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


def create_client(server: LiveServer, scopes: tuple[str, ...] = ("profile",)) -> dict[str, str]:
    """A confidential client_credentials client allowed ``scopes``."""
    scope_args = [arg for scope in scopes for arg in ("--scope", scope)]
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "webapp.cli",
            "create-client",
            "--name",
            "e2e-service",
            "--grant",
            "client_credentials",
            *scope_args,
            "--json",
        ],
        env=server.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    return dict(json.loads(created.stdout))


def revoke_session(server: LiveServer, refresh_token: str) -> None:
    """End a CLI session on the server, as the portal's sessions page would."""
    httpx.post(
        f"{server.url}/oauth/revoke",
        data={"token": refresh_token, "token_type_hint": "refresh_token", "client_id": "limen-cli"},
        timeout=30,
    ).raise_for_status()


def me(server: LiveServer, token: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
