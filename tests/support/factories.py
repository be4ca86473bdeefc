"""Small helpers to build test data through the public HTTP API."""

from __future__ import annotations

import secrets
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.live import REPO_ROOT

PASSWORD = "correct horse battery staple"


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{secrets.token_hex(4)}@example.com"


@dataclass
class Account:
    email: str
    password: str
    id: str


class Api:
    """An httpx client for one Limen node, with a few verbs tests use constantly."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def register(self, email: str | None = None, password: str = PASSWORD) -> Account:
        email = email or unique_email()
        response = self.http.post("/auth/register", json={"email": email, "password": password})
        assert response.status_code == 201, response.text
        return Account(email, password, response.json()["id"])

    def login(self, account: Account, **kwargs: Any) -> dict[str, Any]:
        response = self.http.post(
            "/auth/login", json={"email": account.email, "password": account.password}, **kwargs
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def me(self, token: str, base_url: str | None = None) -> httpx.Response:
        url = (base_url or self.base_url) + "/api/v1/me"
        return httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def create_user(node: Any, role: str = "analyst") -> str:
    """A user made the operator's way (`limen-server create-user`); returns the email."""
    email = unique_email(role)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "webapp.cli",
            "create-user",
            "--email",
            email,
            "--role",
            role,
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        env=node.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return email


def bearer_for(node: Any, email: str) -> dict[str, str]:
    """Authorization headers for a fresh session of ``email`` (password ``PASSWORD``)."""
    login = httpx.post(f"{node.url}/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}
