"""`limen-server` as an operator runs it: dev, check, create-user."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import TEST_SECRET, base_env
from tests.support.live import REPO_ROOT
from tests.support.services import free_port


def limen_server(*args: str, env: dict[str, str], stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "webapp.cli", *args],
        cwd=REPO_ROOT,
        env={"PATH": os.environ["PATH"], **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def start_dev(command: list[str], cwd, env) -> tuple[subprocess.Popen[str], str]:
    """Start `limen-server dev` and read its banner (up to its last line, 'Admin:')."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    while not any("Admin:" in line for line in lines):
        line = proc.stdout.readline()
        if not line:
            stop(proc)
            raise AssertionError("dev server exited:\n" + "".join(lines))
        lines.append(line)
    return proc, "".join(lines)


def stop(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(10)
    proc.stdout.close()


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("LIMEN_ISSUER", "", "LIMEN_ISSUER must be an http(s) URL"),
        ("LIMEN_ACESS_TOKEN_TTL", "60", "did you mean LIMEN_ACCESS_TOKEN_TTL?"),
    ],
)
def test_dev_server_explains_a_bad_setting_without_a_traceback(tmp_path, variable, value, words):
    out = limen_server("dev", "--instance", str(tmp_path / "instance"), env={variable: value})
    assert out.returncode == 1
    assert words in out.stderr and "Traceback" not in out.stderr + out.stdout


def test_dev_server_starts_migrates_and_prints_first_admin_once(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "webapp.cli",
        "dev",
        "--port",
        str(port),
        "--instance",
        str(tmp_path / "instance"),
    ]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    proc, output = start_dev(command, tmp_path, env)
    try:
        assert "DEV MODE" in output and base in output
        email, password = re.search(r"Admin:\s+(\S+) / (\S+)", output).groups()
        wait_healthy(base)
        login = httpx.post(f"{base}/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200
        me = httpx.get(
            f"{base}/api/v1/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
        )
        assert me.json()["roles"] == ["admin"]
        assert oct((tmp_path / "instance" / "secret_key").stat().st_mode & 0o777) == "0o600"
    finally:
        stop(proc)
    # A second start keeps the same admin and does not print a password again.
    proc, output = start_dev(command, tmp_path, env)
    try:
        assert password not in output and "--reset-admin-password" in output
        wait_healthy(base)
        again = httpx.post(f"{base}/auth/login", json={"email": email, "password": password})
        assert again.status_code == 200  # same secret key, same signing key, same data
    finally:
        stop(proc)


def wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_check_passes_on_a_healthy_deployment(server):
    result = limen_server("check", env=server.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_check_explains_unreachable_redis_and_unmigrated_database(redis_server, make_database):
    env = base_env(
        f"redis://127.0.0.1:{free_port()}/0",
        make_database("sqlite"),
        LIMEN_ISSUER="http://127.0.0.1:9",
    )
    result = limen_server("check", env=env)
    assert result.returncode == 1
    assert "refused the connection: is redis-server running?" in result.stdout
    assert "run `limen-server db upgrade`" in result.stdout


def test_check_finds_a_secret_key_that_differs_from_the_other_nodes(server):
    assert httpx.get(f"{server.url}/oauth/jwks").json()["keys"]  # the ring has a key
    env = {**server.env, "LIMEN_SECRET_KEY": "another-secret-" + "y" * 40}
    result = limen_server("check", env=env)
    assert result.returncode == 1
    assert "cannot be decrypted with this LIMEN_SECRET_KEY" in result.stdout
    assert TEST_SECRET not in result.stdout


def test_check_lists_unsafe_production_settings(tmp_path):
    env = {
        "LIMEN_ENV": "production",
        "LIMEN_ISSUER": "http://id.example.com",
        "LIMEN_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }
    result = limen_server("check", env=env)
    assert result.returncode == 1
    assert "LIMEN_SECRET_KEY is unset" in result.stdout
    assert "uses http on a non-loopback host" in result.stdout


def test_create_user_from_stdin_then_sign_in(server):
    email = f"ops-{os.getpid()}-{time.time_ns()}@example.com"
    result = limen_server(
        "create-user",
        "--email",
        email,
        "--role",
        "admin",
        "--password-stdin",
        "--json",
        env=server.env,
        stdin="a long admin password\n",
    )
    assert result.returncode == 0, result.stderr
    login = httpx.post(
        f"{server.url}/auth/login", json={"email": email, "password": "a long admin password"}
    )
    assert login.status_code == 200
    duplicate = limen_server(
        "create-user",
        "--email",
        email,
        "--password-stdin",
        env=server.env,
        stdin="a long admin password\n",
    )
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    weak = limen_server(
        "create-user", "--email", "w" + email, "--password-stdin", env=server.env, stdin="short\n"
    )
    assert weak.returncode == 1 and "at least" in weak.stderr


def start_run(server, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "webapp.cli", "run", "--bind", f"127.0.0.1:{port}", *args],
        cwd=REPO_ROOT,
        env=server.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base)
    return proc, base


def get_on(sock: socket.socket) -> bytes:
    """One GET /healthz on an open connection; the whole answer (it is small)."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


def test_run_serves_on_granian_and_keeps_idle_connections_past_client_reuse(server):
    proc, base = start_run(server, "--workers", "2", "--threads", "2")
    try:
        assert httpx.get(f"{base}/readyz").status_code == 200
        with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1]))) as sock:
            sock.settimeout(5)
            assert get_on(sock).startswith(b"HTTP/1.1 200")
            # Node's fetch reuses an idle connection for ~4-5 s (openid-client RPs): the
            # server must not close it before then (gunicorn gthread closed after 2 s).
            time.sleep(6)
            assert get_on(sock).startswith(b"HTTP/1.1 200")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)


def test_run_reloads_workers_gracefully_on_sighup(server):
    proc, base = start_run(server, "--workers", "1")
    try:
        os.kill(proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 60
        answered = 0
        while time.monotonic() < deadline and answered < 20:  # through the workers' restart
            assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
            answered += 1
        assert proc.poll() is None and answered == 20
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)


def test_run_refuses_a_bad_configuration_once_with_its_explanation(server):
    env = {**server.env, "LIMEN_SECRET_KEY": "short"}
    out = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "run", "--bind", "127.0.0.1:1"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    assert "LIMEN_SECRET_KEY is only 5 characters" in out.stderr


def test_check_finds_a_peer_publishing_other_keys(server, make_database, start_server):
    other = start_server(make_database("sqlite"))
    assert httpx.get(f"{other.url}/oauth/jwks").json()["keys"]
    assert httpx.get(f"{server.url}/oauth/jwks").json()["keys"]
    same = limen_server("check", "--peer", server.url, env=server.env)
    assert same.returncode == 0, same.stdout
    result = limen_server("check", "--peer", other.url, env=server.env)
    assert result.returncode == 1
    assert f"Peer {other.url} publishes key ids" in result.stdout
    assert "different databases" in result.stdout


def test_check_finds_an_issuer_that_is_not_the_url_clients_use(deployment):
    first, second = deployment  # the second node serves with the first one's issuer
    env = {**second.env, "LIMEN_ISSUER": second.url}
    result = limen_server("check", env=env)
    assert result.returncode == 1
    assert f"says its issuer is '{first.url}'" in result.stdout


def test_check_warns_about_cookies_a_browser_would_drop(server):
    result = limen_server("check", env={**server.env, "LIMEN_COOKIE_SECURE": "true"})
    assert result.returncode == 0, result.stdout  # a warning, not a failure
    assert "! Cookies are Secure" in result.stdout


def test_check_finds_clock_skew_against_redis(server):
    result = subprocess.run(
        ["faketime", "-f", "+30s", sys.executable, "-m", "webapp.cli", "check"],
        cwd=REPO_ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "clock is +30" in result.stdout and "NTP" in result.stdout


def test_create_client_prints_its_secret_once_and_checks_the_logout_uri(server):
    made = limen_server(
        "create-client",
        "--name",
        "Nightly export",
        "--grant",
        "client_credentials",
        "--scope",
        "profile",
        "--backchannel-logout-uri",
        "https://export.example.com/logout",
        "--json",
        env=server.env,
    )
    assert made.returncode == 0, made.stderr
    client = json.loads(made.stdout)
    assert client["client_secret"].startswith("limen_cs_")
    token = httpx.post(
        f"{server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert token.status_code == 200
    refused = limen_server(
        "create-client",
        "--name",
        "x",
        "--grant",
        "client_credentials",
        "--backchannel-logout-uri",
        "http://export.example.com/x",
        env=server.env,
    )
    assert refused.returncode == 1 and "https" in refused.stderr
