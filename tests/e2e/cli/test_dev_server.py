"""`scripts/dev` as a developer meets it: `limen-server --help` before any configuration,
`create-user` beside the running dev server, CLI sessions that survive a restart, `limen
status` while it is down, and one URL for the server and the CLI (127.0.0.1, not localhost)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

from tests.e2e.test_server_cli import start_dev, stop, wait_healthy
from tests.support.factories import Account
from tests.support.live import REPO_ROOT
from tests.support.services import free_port

from .conftest import Limen, me


@dataclass
class DevServer:
    url: str


def server_cli(*args: str, cwd, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "webapp.cli", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_server_help_needs_no_configuration(tmp_path):
    result = server_cli("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dev" in result.stdout and "create-user" in result.stdout


def test_cli_sessions_survive_a_dev_server_restart(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "webapp.cli", "dev", "--port", str(port)]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    limen = Limen(DevServer(base), tmp_path / "config")  # type: ignore[arg-type]
    account = Account("dev@example.com", "a long dev password", "")
    proc, banner = start_dev(command, tmp_path, env)
    try:
        lines = banner.strip().splitlines()
        assert lines[-2].strip() == f"URL:      {base}" and "Admin:" in lines[-1]
        assert "request" not in banner.lower() and "GET /" not in banner
        wait_healthy(base)
        created = server_cli(
            "create-user",
            "--email",
            account.email,
            "--password-stdin",
            cwd=tmp_path,
            stdin=account.password + "\n",
        )
        assert created.returncode == 0, created.stderr
        login = limen.run(
            "login",
            "--password",
            "--user",
            account.email,
            "--secret-stdin",
            "--server",
            f"http://localhost:{port}",
            input=account.password + "\n",
        )
        assert login.returncode == 0, login.stderr
        assert f"Logged in to {base} as {account.email}" in login.stderr
    finally:
        stop(proc)

    down = limen.run("status")
    assert down.returncode == 1 and "Cannot reach" in down.stdout + down.stderr
    assert "Traceback" not in down.stderr
    down_json = limen.run("status", "--json")
    assert down_json.returncode == 1 and json.loads(down_json.stdout)["unreachable"]

    proc, banner = start_dev(command, tmp_path, env)
    try:
        wait_healthy(base)
        token = limen.run("token")
        assert token.returncode == 0, token.stderr
        assert me(DevServer(base), token.stdout.strip()).json()["email"] == account.email  # type: ignore[arg-type]
        assert "1 live session(s) restored" in banner
    finally:
        stop(proc)
