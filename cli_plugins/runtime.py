"""Per-invocation wiring built lazily from flags + environment + config: settings, the HTTP
client, the credential store, providers and the token manager. The SDK builds the same."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx

from .config import Config, Flags, Settings, config_dir, resolve
from .console import Console
from .credentials import CredentialStore, open_store
from .discovery import Metadata, discover
from .http import new_client, unreachable
from .plugins import ProviderInfo, collect_providers, plugin_manager
from .session import LimenAuth, TokenManager

ROOT_PATHS = ("/api/", "/oauth/", "/auth/", "/.well-known/")


@dataclass
class Runtime:
    """What one `limen` invocation (or one SDK AuthClient) works with."""

    flags: Flags = field(default_factory=Flags)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)
    console: Console = field(default_factory=Console)

    @cached_property
    def config(self) -> Config:
        return Config.load(config_dir(self.env))

    @cached_property
    def settings(self) -> Settings:
        return resolve(self.flags, self.env, self.cwd, self.config)

    @cached_property
    def http(self) -> httpx.Client:
        return new_client()

    @cached_property
    def store_and_note(self) -> tuple[CredentialStore, str | None]:
        """The store this profile uses and, if the keyring is unusable, a note naming the file."""
        return open_store(self.settings.storage, self.settings.config_dir)

    @property
    def store(self) -> CredentialStore:
        return self.store_and_note[0]

    @cached_property
    def providers(self) -> dict[str, ProviderInfo]:
        return collect_providers(plugin_manager())

    @cached_property
    def manager(self) -> TokenManager:
        return TokenManager(
            self.settings, self.store, self.http, self.env, lambda: self.providers, self.console
        )

    def use_server(self, server: str, source: str) -> None:
        """Talk to ``server`` from now on (the same server under its own name)."""
        self.__dict__["settings"] = replace(self.settings, server=server, server_source=source)
        self.__dict__.pop("manager", None)

    def metadata(self) -> Metadata:
        return discover(self.settings.server, self.http, self.settings.config_dir)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """An authenticated request (renewed before expiry, renew-and-retry once on a 401)."""
        try:
            return self.http.request(method, url, auth=LimenAuth(self.manager), **kwargs)
        except httpx.HTTPError as exc:
            raise unreachable(self.settings.server, exc) from exc

    def api_url(self, path: str) -> str:
        """``me`` or ``/me`` relative to the API base; ``/api/...``, ``/oauth/...``,
        ``/auth/...`` relative to the server root."""
        if path.startswith(ROOT_PATHS):
            return self.settings.server + path
        return f"{self.metadata().api_base}/{path.lstrip('/')}"

    def close(self) -> None:
        client = self.__dict__.pop("http", None)
        if client is not None:
            client.close()
