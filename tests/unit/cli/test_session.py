"""The token path: refresh before expiry, once, under the per-profile lock; retry once on 401."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from cli_plugins.config import Config, Flags, resolve
from cli_plugins.credentials import FileStore
from cli_plugins.errors import AuthRequired, SessionEnded
from cli_plugins.session import LimenAuth, TokenManager

from .conftest import SERVER, make_credentials


class FakeServer:
    """Discovery, a rotating-refresh token endpoint, and /api/v1/me."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.refreshes = 0
        self.valid = {"eyJaccess.token.one"}
        self.spent: set[str] = set()
        self.revoked = False
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/oauth-authorization-server":
            return httpx.Response(
                200,
                json={
                    "issuer": SERVER,
                    "authorization_endpoint": f"{SERVER}/oauth/authorize",
                    "token_endpoint": f"{SERVER}/oauth/token",
                    "limen_api_base": f"{SERVER}/api/v1",
                },
            )
        if path == "/oauth/token":
            return self.token(parse_qs(request.content.decode()))
        if request.headers.get("Authorization", "").removeprefix("Bearer ") in self.valid:
            return httpx.Response(200, json={"sub": "user-1"})
        return httpx.Response(401, json={"status": 401, "detail": "expired", "cause": "expired"})

    def token(self, form: dict[str, list[str]]) -> httpx.Response:
        time.sleep(self.delay)
        token = form["refresh_token"][0]
        with self._lock:
            if self.revoked or token in self.spent:
                return httpx.Response(
                    400, json={"error": "invalid_grant", "error_description": "revoked"}
                )
            self.spent.add(token)
            self.refreshes += 1
            access = f"eyJaccess.token.{self.refreshes + 1}"
            self.valid.add(access)
        return httpx.Response(
            200,
            json={
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 600,
                "refresh_token": f"limen_rt_{self.refreshes + 1}",
            },
        )


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer()


def manager_for(config_dir: Path, fake: FakeServer, env: dict[str, str] | None = None):
    settings = resolve(Flags(server=SERVER), {}, config_dir, Config(config_dir / "config.toml"))
    store = FileStore(config_dir / "credentials.json")
    http = httpx.Client(transport=httpx.MockTransport(fake))
    return TokenManager(settings, store, http, env or {}, dict), store, http


@pytest.fixture
def manager(config_dir, fake) -> Iterator[tuple[TokenManager, FileStore]]:
    mgr, store, http = manager_for(config_dir, fake)
    with http:
        yield mgr, store


def test_fresh_token_is_used_as_is(manager, fake):
    mgr, store = manager
    store.save("default", make_credentials())
    assert mgr.access_token() == "eyJaccess.token.one"
    assert fake.refreshes == 0


def test_token_near_expiry_is_refreshed_once_and_saved(manager, fake):
    mgr, store = manager
    now = time.time()
    store.save("default", make_credentials(obtained_at=now - 570, expires_at=now + 30))
    assert mgr.access_token() == "eyJaccess.token.2"
    saved = store.load("default")
    assert saved is not None and saved.refresh_token == "limen_rt_2"
    assert mgr.access_token() == "eyJaccess.token.2"
    assert fake.refreshes == 1


def test_concurrent_refreshes_spend_the_refresh_token_once(config_dir):
    fake = FakeServer(delay=0.3)
    FileStore(config_dir / "credentials.json").save(
        "default", make_credentials(expires_at=time.time() - 1)
    )
    tokens: list[str] = []

    def run() -> None:
        mgr, _, http = manager_for(config_dir, fake)
        with http:
            tokens.append(mgr.access_token())

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert fake.refreshes == 1
    assert tokens == ["eyJaccess.token.2"] * 3


def test_revoked_session_says_so_and_suggests_login(manager, fake):
    mgr, store = manager
    fake.revoked = True
    store.save("default", make_credentials(expires_at=time.time() - 1))
    with pytest.raises(SessionEnded) as caught:
        mgr.access_token()
    assert "ended" in caught.value.message and "limen login" in (caught.value.hint or "")
    assert caught.value.exit_code == 3


def test_not_logged_in_is_exit_3(manager):
    mgr, _ = manager
    with pytest.raises(AuthRequired) as caught:
        mgr.access_token()
    assert caught.value.exit_code == 3


def test_401_renews_once_and_retries(manager, fake):
    mgr, store = manager
    store.save("default", make_credentials())
    fake.valid.clear()  # the server no longer accepts the token we think is fresh
    response = mgr.http.get(f"{SERVER}/api/v1/me", auth=LimenAuth(mgr))
    assert response.status_code == 200
    assert fake.refreshes == 1


def test_a_second_401_is_returned_not_retried_again(manager, fake):
    mgr, store = manager
    store.save("default", make_credentials())
    fake.valid.clear()
    fake.valid.add("never-issued")
    original = fake.token

    def refresh_then_forget(form: dict[str, list[str]]) -> httpx.Response:
        response = original(form)
        fake.valid.clear()
        return response

    fake.token = refresh_then_forget  # type: ignore[method-assign]
    response = mgr.http.get(f"{SERVER}/api/v1/me", auth=LimenAuth(mgr))
    assert response.status_code == 401
    assert fake.refreshes == 1


def test_token_from_the_environment_wins_and_is_never_refreshed(config_dir, fake):
    mgr, store, http = manager_for(config_dir, fake, env={"LIMEN_TOKEN": "eyJfrom-env"})
    with http:
        store.save("default", make_credentials())
        assert mgr.access_token() == "eyJfrom-env"
        response = http.get(f"{SERVER}/api/v1/me", auth=LimenAuth(mgr))
    assert response.status_code == 401
    assert fake.refreshes == 0


@pytest.mark.parametrize(
    ("lifetime", "age", "refresh"),
    [(10, 8.5, False), (10, 9.2, True), (600, 530, False), (600, 545, True)],
)
def test_refresh_margin_is_60s_or_10_percent(lifetime, age, refresh):
    now = 1_000_000.0
    creds = make_credentials(obtained_at=now - age, expires_at=now - age + lifetime)
    assert creds.needs_refresh(now) is refresh
