"""Fixtures for the attacks in this package: the OAuth fixtures (admin, clients, a signed-in
browser), a signed-in admin browser, and third-party apps that obtain a user's tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.oauth import conftest as oauth
from tests.support.browser import sign_in
from tests.support.factories import PASSWORD, create_user
from tests.support.live import LiveServer

from .flows import code_flow

# The OAuth tests' fixtures: an admin's headers, clients registered through the admin API, a
# signed-in browser, the discovery document.
admin_headers = oauth.admin_headers
make_client = oauth.make_client
browser = oauth.browser
metadata = oauth.metadata


@pytest.fixture(scope="session")
def strict_node(make_database, start_server) -> LiveServer:
    """A node with tight device-code limits, analysts who must still set up two-step
    verification (their sessions hold only 'profile'), and a trusted proxy so that each test
    can come from its own address (X-Forwarded-For)."""
    return start_server(
        make_database("sqlite"),
        LIMEN_MFA_REQUIRED_ROLES="analyst",
        LIMEN_RATELIMIT_DEVICE_ENTRY="3/minute",
        LIMEN_RATELIMIT_DEVICE_CODE="3/minute",
        LIMEN_TRUSTED_PROXIES="1",
    )


@pytest.fixture
def admin_browser(server: LiveServer) -> Iterator[httpx.Client]:
    """A browser signed in to the portal as a fresh admin."""
    with httpx.Client(timeout=30) as http:
        sign_in(http, server.url, create_user(server, "admin"), PASSWORD)
        yield http


@pytest.fixture
def third_party_tokens(
    metadata: dict[str, Any], make_client: Callable[..., dict[str, Any]]
) -> Callable[..., tuple[dict[str, Any], dict[str, Any]]]:
    """(client, token response) of a confidential third-party app a user consented to."""

    def obtain(http: httpx.Client, scopes: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        app = make_client(
            grant_types=["authorization_code", "refresh_token"],
            redirect_uris=["https://app.example.com/cb"],
            scopes=scopes,
        )
        return app, code_flow(http, metadata, app, " ".join(scopes))

    return obtain
