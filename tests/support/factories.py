"""Small helpers to build test data through the public HTTP API."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

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
