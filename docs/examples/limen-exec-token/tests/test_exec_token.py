"""The exec provider: output parsing, and discovery through the `limen.plugins` entry point
by the real `limen` executable (the package is installed into a temp dir, never the venv)."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_plugins.errors import LimenError

from limen_exec_token import parse_output, run_command

PLUGIN_DIR = Path(__file__).resolve().parents[1]
LIMEN = str(Path(sys.executable).parent / "limen")
TOKEN = "exec-token-123"


def test_bare_token_output():
    assert parse_output(f"{TOKEN}\n") == {"access_token": TOKEN, "token_type": "Bearer"}


def test_json_output_keeps_expiry():
    body = parse_output(json.dumps({"access_token": TOKEN, "expires_in": 60}))
    assert body["expires_in"] == 60


@pytest.mark.parametrize("output", ["", "two words", '{"token": "x"}', "{bad json"])
def test_bad_output_is_refused(output):
    with pytest.raises(LimenError):
        parse_output(output)


def test_failing_command_names_its_status():
    command = f'{sys.executable} -c "import sys; sys.exit(3)"'
    with pytest.raises(LimenError, match="status 3"):
        run_command(command)


class StubLimen(http.server.BaseHTTPRequestHandler):
    """Just enough of a Limen server: discovery and /api/v1/me for one token."""

    def do_GET(self) -> None:
        base = f"http://{self.headers['Host']}"
        if self.path == "/.well-known/oauth-authorization-server":
            self._json(
                200,
                {
                    "issuer": base,
                    "authorization_endpoint": f"{base}/oauth/authorize",
                    "token_endpoint": f"{base}/oauth/token",
                    "limen_api_base": f"{base}/api/v1",
                },
            )
        elif self.path == "/api/v1/me" and self.headers["Authorization"] == f"Bearer {TOKEN}":
            self._json(200, {"sub": "robot", "email": "robot@example.com", "scopes": ["profile"]})
        else:
            self._json(401, {"status": 401, "detail": "no"})

    def _json(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def stub_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StubLimen)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def pip_install(source: Path, target: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(target),
            *options,
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin installed by pip into a temp dir, from a copy: the venv and this source
    tree are left untouched. Offline first (needs setuptools+wheel in the venv), else with
    pip's isolated build (downloads the build backend, like scripts/setup does)."""
    root = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(PLUGIN_DIR, root / "src", ignore=shutil.ignore_patterns("tests"))
    target = root / "site"
    done = pip_install(source, target, "--no-build-isolation", "--no-index")
    if done.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        done = pip_install(source, target)
    assert done.returncode == 0, done.stderr
    return target


@pytest.fixture
def limen_env(site_dir: Path, tmp_path: Path, stub_server: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIMEN_")}
    env.update(
        PYTHONPATH=str(site_dir),
        LIMEN_CONFIG_DIR=str(tmp_path / "config"),
        LIMEN_SERVER=stub_server,
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    return env


def limen(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LIMEN, *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


def test_entry_point_makes_the_provider_visible(limen_env):
    result = limen(limen_env, "providers", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)["providers"]}
    assert rows["exec"]["source"] == "limen-exec-token"
    assert rows["browser"]["source"] == "built-in"


def test_login_with_the_plugin_provider(limen_env):
    command = f"{sys.executable} -c \"print('{TOKEN}')\""
    login = limen(limen_env, "login", "--provider", "exec", "-o", f"command={command}")
    assert login.returncode == 0, login.stderr
    assert "as robot@example.com" in login.stderr and "via exec" in login.stderr
    assert limen(limen_env, "token").stdout.strip() == TOKEN
    assert limen(limen_env, "whoami").stdout.splitlines()[0] == "robot@example.com"
    logout = limen(limen_env, "logout")
    assert logout.returncode == 0 and "does not revoke 'exec'" in logout.stderr


def test_without_the_plugin_the_provider_is_unknown(limen_env):
    env = {**limen_env, "PYTHONPATH": ""}
    result = limen(env, "login", "--provider", "exec")
    assert result.returncode == 2 and "No login provider named 'exec'" in result.stderr
