"""Login providers: the base class every provider (built-in or plugin) implements, and the
context a provider gets when it runs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..console import Console
from ..credentials import Credentials
from ..discovery import Metadata, discover

if TYPE_CHECKING:
    import httpx


def _no_check(credentials: Credentials) -> None:
    """The default of ``LoginContext.confirm`` outside `limen login`."""


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
    confirm: Callable[[Credentials], None] = _no_check
    """Identify new credentials and refuse the wrong account (set by `limen login`); a
    provider may call it early, e.g. to show the result in the browser."""
    _metadata: Metadata | None = None

    @property
    def interactive(self) -> bool:
        """True when someone at a terminal can answer prompts."""
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
        self,
        token_response: Mapping[str, Any],
        *,
        client_id: str | None = None,
        kind: str = "oauth",
        **extra: Any,
    ) -> Credentials:
        """Credentials from a token response, bound to this server, the calling provider and
        ``client_id``, the OAuth client the tokens were issued to (refresh and logout use it;
        when left out, `limen login` records the client the server names for the token)."""
        extra.setdefault("provider", self.provider or kind)
        return Credentials.from_token_response(
            dict(token_response), server=self.server, kind=kind, client_id=client_id, **extra
        )


class Provider(ABC):
    """A way to log in. Subclass it, set the class attributes, implement ``login``."""

    name: ClassVar[str] = ""
    help: ClassVar[str] = ""
    needs_browser: ClassVar[bool] = False
    needs_tty: ClassVar[bool] = False
    needs_person: ClassVar[bool] = False
    """The login waits for a person to act elsewhere (approve a code on another device)."""

    @abstractmethod
    def login(self, context: LoginContext) -> Credentials:
        """Obtain credentials, or raise a LimenError saying why not."""

    def renew(self, context: LoginContext, credentials: Credentials) -> Credentials | None:
        """New credentials without asking anyone (no refresh token), or None if impossible."""
        return None

    def client_auth(self, context: LoginContext, credentials: Credentials) -> httpx.Auth | None:
        """How ``credentials.client_id`` authenticates when `limen` refreshes or revokes its
        tokens: None for a public client (it sends ``client_id``), else an ``httpx.Auth``,
        e.g. ``basic_auth(client_id, secret)`` with a secret the provider keeps itself."""
        return None

    @property
    def waits_for_person(self) -> bool:
        """True when a login cannot finish without someone acting (never start it unasked
        where nobody is at a terminal)."""
        return self.needs_browser or self.needs_person


__all__ = ["LoginContext", "Provider"]
