"""A real OpenID Provider for tests: the npm package `oidc-provider`, run with node."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.services import Managed, free_port, log_tail

HERE = Path(__file__).parent / "oidc_provider"


class OidcProvider(Managed):
    def __init__(
        self,
        clients: list[dict[str, Any]],
        accounts: dict[str, dict[str, Any]],
        *,
        issuer_host: str = "127.0.0.1",
        port: int | None = None,
        jwks: dict[str, Any] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.issuer = f"http://{issuer_host}:{self.port}"
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {
            **os.environ,
            "PORT": str(self.port),
            "ISSUER": self.issuer,
            "CLIENTS": json.dumps(clients),
            "ACCOUNTS": json.dumps(accounts),
        }
        if jwks is not None:  # the provider's private signing keys, when a test chooses them
            self._env["JWKS"] = json.dumps(jwks)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = Path(tempfile.mkstemp(prefix="limen-oidc-", suffix=".log")[1])

    def start(self, timeout: float = 20.0) -> None:
        if not (HERE / "node_modules" / "oidc-provider").exists():
            raise RuntimeError("run `scripts/setup --dev` (npm ci for tests/support/oidc_provider)")
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                ["node", str(HERE / "server.mjs")],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/.well-known/openid-configuration").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"oidc-provider did not start:\n{log_tail(self._log)}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
            self._proc = None
        self._log.unlink(missing_ok=True)


FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"[^>]*>(.*?)</form>', re.I | re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def sign_in_upstream(http: httpx.Client, start_url: str, login: str) -> httpx.Response:
    """Follow Limen's redirect to the provider and through its login and consent forms, as a
    browser would; returns the final response (back at Limen)."""
    page = http.get(start_url, follow_redirects=True)
    for _ in range(4):
        match = FORM.search(page.text)
        if match is None or "/interaction/" not in match.group(1):
            return page
        action = str(page.url.join(match.group(1)))
        data = dict(HIDDEN.findall(match.group(2)))
        if 'name="login"' in match.group(2):
            data.update(login=login, password="any")
        page = http.post(action, data=data, follow_redirects=True)
    return page


def sign_in_upstream_until(http: httpx.Client, start_url: str, login: str, *, stop_at: str) -> str:
    """Like ``sign_in_upstream``, but for a sign-in that ends in another redirect (e.g. back
    to /oauth/authorize and on to a native app's loopback): returns that final Location."""
    seen: list[str] = []

    def remember(response: httpx.Response) -> None:
        if response.is_redirect and str(response.url).startswith(stop_at):
            seen.append(response.headers["Location"])

    http.event_hooks["response"].append(remember)
    try:
        with contextlib.suppress(httpx.ConnectError):  # nobody listens on the loopback here
            sign_in_upstream(http, start_url, login)
    finally:
        http.event_hooks["response"].remove(remember)
    assert seen, "the sign-in never came back to " + stop_at
    return seen[-1]
