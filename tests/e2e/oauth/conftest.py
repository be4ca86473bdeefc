"""Fixtures for the OAuth tests: an admin, clients registered through the admin API, a
signed-in browser, and a loopback receiver that plays a native app's redirect listener."""

from __future__ import annotations

import http.server
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.browser import sign_in
from tests.support.factories import Api, bearer_for, create_user
from tests.support.live import LiveServer


@pytest.fixture(scope="session")
def admin_headers(deployment: tuple[LiveServer, LiveServer]) -> dict[str, str]:
    node = deployment[0]
    return bearer_for(node, create_user(node, "admin"))


@pytest.fixture
def make_client(server: LiveServer, admin_headers) -> Callable[..., dict[str, Any]]:
    def make(**body: Any) -> dict[str, Any]:
        payload = {"name": f"app-{secrets.token_hex(3)}", **body}
        response = httpx.post(f"{server.url}/api/v1/clients", json=payload, headers=admin_headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    return make


@pytest.fixture
def metadata(server: LiveServer) -> dict[str, Any]:
    return dict(httpx.get(f"{server.url}/.well-known/oauth-authorization-server").json())


@pytest.fixture
def browser(api: Api, server: LiveServer) -> Iterator[tuple[httpx.Client, Any]]:
    """A signed-in browser (portal cookies) and the account behind it."""
    account = api.register()
    with httpx.Client(timeout=30) as http:
        sign_in(http, server.url, account.email, account.password)
        yield http, account


class LoopbackReceiver:
    """A one-shot redirect listener on 127.0.0.1 and a random port (RFC 8252 §7.3)."""

    def __init__(self) -> None:
        received: dict[str, str] = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                received.update({k: v[0] for k, v in query.items()})
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"done")

            def log_message(self, *args: object) -> None:
                return

        self.received = received
        self._server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.redirect_uri = f"http://127.0.0.1:{self.port}/callback"
        self._thread = threading.Thread(target=self._server.handle_request, daemon=True)
        self._thread.start()

    def deliver(self, location: str) -> dict[str, str]:
        """Do what the browser does with the redirect: GET it, landing on the listener."""
        assert location.startswith(self.redirect_uri), location
        httpx.get(location, timeout=10)
        self._thread.join(10)
        return self.received

    def close(self) -> None:
        if self._thread.is_alive():  # never delivered: unblock the listener before closing
            httpx.get(self.redirect_uri, timeout=5)
            self._thread.join(5)
        self._server.server_close()


@pytest.fixture
def loopback() -> Iterator[LoopbackReceiver]:
    receiver = LoopbackReceiver()
    yield receiver
    receiver.close()
