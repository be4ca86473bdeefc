"""The front doors walked in real Chromium: one Limen node for the walks, a relying party on
a loopback port, the real `limen` executable, and the person's steps on Limen's pages."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.factories import bearer_for, create_user
from tests.support.live import LiveServer

LIMEN = str(Path(sys.executable).parent / "limen")
HOST_ONLY = ("DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "BROWSER")


@pytest.fixture(scope="session")
def node(
    make_database: Callable[[str], str], start_server: Callable[..., LiveServer]
) -> LiveServer:
    return start_server(make_database("sqlite"))


@pytest.fixture(scope="session")
def admin(node: LiveServer) -> dict[str, str]:
    return bearer_for(node, create_user(node, "admin"))


def sign_in(page: Page, email: str, password: str) -> None:
    """Fill in Limen's sign-in page, wherever the walk met it, and submit it."""
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


class RelyingParty:
    """An OAuth client's redirect listener on 127.0.0.1 that records each callback: its
    parameters, and how they came (``GET`` query, or ``POST`` and its content type for
    response_mode=form_post)."""

    def __init__(self, node: LiveServer, client_id: str) -> None:
        self.node, self.client_id = node, client_id
        self.callbacks: list[dict[str, str]] = []
        self.methods: list[str] = []
        self.verifier = secrets.token_urlsafe(48)
        self.state = secrets.token_urlsafe(16)
        party = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.received(urlsplit(self.path).query, "GET")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = self.rfile.read(length).decode()
                self.received(form, f"POST {self.headers.get('Content-Type')}")

            def received(self, params: str, how: str) -> None:
                if urlsplit(self.path).path != "/callback":  # the browser's /favicon.ico
                    self.send_error(404)
                    return
                party.callbacks.append(dict(parse_qsl(params)))
                party.methods.append(how)
                body = b"<!doctype html><title>RP</title><h1>Callback received</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self._server.server_address[1]}/callback"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def authorize_url(self, **extra: str) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid profile",
            "state": self.state,
            "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            **extra,
        }
        return f"{self.node.url}/oauth/authorize?{urlencode(params)}"

    def exchange(self, code: str) -> httpx.Response:
        return httpx.post(
            f"{self.node.url}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "client_id": self.client_id,
                "code_verifier": self.verifier,
            },
            timeout=30,
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def relying_party(node: LiveServer, admin: dict[str, str]) -> Iterator[Callable[..., RelyingParty]]:
    """A public client registered through the admin API, and its loopback listener."""
    parties: list[RelyingParty] = []

    def make(*, trusted: bool) -> RelyingParty:
        created = httpx.post(
            f"{node.url}/api/v1/clients",
            json={
                "name": f"{'Trusted' if trusted else 'Third'} app {secrets.token_hex(2)}",
                "grant_types": ["authorization_code"],
                "scopes": ["openid", "profile"],
                "redirect_uris": ["http://127.0.0.1/callback"],  # any port (RFC 8252 §7.3)
                "public": True,
                "trusted": trusted,
            },
            headers=admin,
        )
        assert created.status_code == 201, created.text
        parties.append(RelyingParty(node, created.json()["client_id"]))
        return parties[-1]

    yield make
    for party in parties:
        party.close()


class Cli:
    """The real `limen` executable with its own config directory, pointed at one node."""

    def __init__(self, node: LiveServer, config_dir: Path) -> None:
        self.node, self.config_dir = node, config_dir

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("LIMEN_") and k not in HOST_ONLY
        }
        env.update(
            LIMEN_CONFIG_DIR=str(self.config_dir),
            LIMEN_SERVER=self.node.url,
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
            **extra,
        )
        return env

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [LIMEN, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.env(**env),
            text=True,
        )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LIMEN, *args],
            stdin=subprocess.DEVNULL,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def token_works_for(self, email: str) -> bool:
        """`limen token` prints a token that /api/v1/me accepts as ``email``."""
        token = self.run("token")
        assert token.returncode == 0, token.stderr
        me = httpx.get(
            f"{self.node.url}/api/v1/me",
            headers={"Authorization": f"Bearer {token.stdout.strip()}"},
            timeout=30,
        )
        return me.status_code == 200 and me.json()["email"] == email


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    """Exit code and output of a `limen` process (killed if it outlives ``timeout``)."""
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        return -9, output
    return proc.returncode, output


@pytest.fixture
def cli(node: LiveServer, tmp_path: Path) -> Cli:
    return Cli(node, tmp_path / "limen-config")


USER_CODE = re.compile(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b")


def user_code(proc: subprocess.Popen[str]) -> str:
    """Read `limen login --device` output until it shows the user code."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if match := USER_CODE.search(re.sub(r"\x1b\[[0-9;]*m", "", line)):
            return match.group(1)
    raise AssertionError("limen exited without showing a user code")


def me_in(page: Page, node: LiveServer) -> dict[str, Any]:
    """/api/v1/me as the browser sees it (its portal cookies)."""
    response = page.request.get(f"{node.url}/api/v1/me")
    assert response.status == 200, response.text()
    return dict(response.json())
