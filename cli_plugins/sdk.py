"""Python access with the CLI's logins: same profiles, store, refresh and lock as `limen`.

    from cli_plugins.sdk import AuthClient

    with AuthClient.from_config() as auth, auth.session() as http:
        print(http.get("/api/v1/me").json())

Failures raise ``cli_plugins.errors.LimenError`` subclasses (``AuthRequired`` when a login is
needed, ``Forbidden`` for a missing permission). The SDK never prompts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from .authorize import Decision, EntityLike, decision_from, evaluation_body
from .config import Flags
from .console import Console
from .http import USER_AGENT, timeout
from .runtime import Runtime
from .session import LimenAuth


class AuthClient:
    """Tokens for one profile, renewed transparently (before expiry and after a 401)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    @classmethod
    def from_config(
        cls,
        profile: str | None = None,
        *,
        server: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> AuthClient:
        """Resolve settings exactly like `limen` (flags here > environment > profile)."""
        runtime = Runtime(
            flags=Flags(profile=profile, server=server),
            env=dict(os.environ if env is None else env),
            cwd=cwd or Path.cwd(),
            console=Console(interactive=False),
        )
        return cls(runtime)

    @property
    def server(self) -> str:
        """The Limen server this client talks to (its base URL)."""
        return self._runtime.settings.server

    @property
    def profile(self) -> str:
        """The name of the credential profile in use."""
        return self._runtime.settings.profile

    def get_access_token(self) -> str:
        """A valid access token (LIMEN_TOKEN/LIMEN_API_KEY win, as in the CLI)."""
        return self._runtime.manager.access_token()

    def auth(self) -> httpx.Auth:
        """An httpx auth for your own clients."""
        return LimenAuth(self._runtime.manager)

    def session(self, **kwargs: Any) -> httpx.Client:
        """An httpx.Client on the server's base URL whose auth renews tokens; close it."""
        kwargs.setdefault("timeout", timeout())
        headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.server, auth=self.auth(), headers=headers, **kwargs)

    def me(self) -> dict[str, Any]:
        """GET /me as the server sees this profile's credential."""
        runtime = self._runtime
        response = runtime.request("GET", runtime.api_url("me"))
        return dict(runtime.manager.check(response).json())

    def authorize(
        self,
        subject: EntityLike,
        action: str,
        resource: EntityLike,
        context: Mapping[str, Any] | None = None,
        *,
        org: str | None = None,
        explain: bool = False,
    ) -> Decision:
        """May ``subject`` (an email or ``Type::"id"``) do ``action`` on ``resource``? Asks
        Limen's AuthZEN endpoint; the organisation is ``org``, ``context["org"]`` or
        LIMEN_ORG. Raises LimenError on any failure (never an implicit deny)."""
        runtime = self._runtime
        org = org or (context or {}).get("org") or runtime.env.get("LIMEN_ORG") or None
        body = evaluation_body(subject, action, resource, context, org, explain)
        url = f"{self.server}/access/v1/evaluation"
        response = runtime.request("POST", url, json=body)
        return decision_from(runtime.manager.check(response, what="The decision").json())

    def close(self) -> None:
        """Close the client's HTTP connections."""
        self._runtime.close()

    def __enter__(self) -> AuthClient:
        """The client itself; it is closed when the ``with`` block ends."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the client, whatever the ``with`` block raised."""
        self.close()
