"""Login providers: the base class every provider (built-in or plugin) implements, and the
context a provider gets when it runs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ..console import Console
from ..credentials import Credentials
from ..discovery import Metadata, discover


@dataclass
class LoginContext:
    """Everything a provider may use: the server and its metadata, an HTTP client, the
    environment, the login flags (``options``), and the console."""

    server: str
    profile: str
    http: httpx.Client
    env: Mapping[str, str]
    console: Console
    config_dir: Path
    options: dict[str, Any] = field(default_factory=dict)
    provider: str = ""  # the name of the provider running
    confirm: Callable[[Credentials], None] = lambda creds: None
    """Identify new credentials and refuse the wrong account (set by `limen login`); a
    provider may call it early, e.g. to show the result in the browser."""
    _metadata: Metadata | None = None

    @property
    def interactive(self) -> bool:
        return self.console.interactive

    def metadata(self) -> Metadata:
        """The server's discovery document (cached)."""
        if self._metadata is None:
            self._metadata = discover(self.server, self.http, self.config_dir)
        return self._metadata

    def option(self, name: str, default: Any = None) -> Any:
        """A login flag or ``-o name=value`` option; ``default`` when absent."""
        value = self.options.get(name)
        return default if value is None else value

    def credentials(
        self, token_response: dict[str, Any], *, kind: str = "oauth", **extra: Any
    ) -> Credentials:
        """Credentials from a token response, bound to this server and the calling provider."""
        extra.setdefault("provider", self.provider or kind)
        return Credentials.from_token_response(
            token_response, server=self.server, kind=kind, **extra
        )


class Provider(ABC):
    """A way to log in. Subclass it, set the class attributes, implement ``login``."""

    name: ClassVar[str] = ""
    help: ClassVar[str] = ""
    needs_browser: ClassVar[bool] = False
    needs_tty: ClassVar[bool] = False

    @abstractmethod
    def login(self, context: LoginContext) -> Credentials:
        """Obtain credentials, or raise a LimenError saying why not."""

    def renew(self, context: LoginContext, credentials: Credentials) -> Credentials | None:
        """New credentials without asking anyone (no refresh token), or None if impossible."""
        return None


__all__ = ["LoginContext", "Provider"]
