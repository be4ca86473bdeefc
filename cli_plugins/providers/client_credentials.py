"""Service accounts: the OAuth client credentials grant with client_secret_basic. The secret
comes from flags or LIMEN_CLIENT_ID/LIMEN_CLIENT_SECRET and is never stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import oauth
from ..console import read_stdin_secret
from ..credentials import Credentials
from ..errors import Forbidden, LimenError, UsageError
from ..hookspecs import hookimpl
from . import LoginContext, Provider

if TYPE_CHECKING:
    import httpx


class ClientCredentialsProvider(Provider):
    name = "client-credentials"
    help = "A service account: OAuth client id + secret (LIMEN_CLIENT_ID / LIMEN_CLIENT_SECRET)."

    def login(self, context: LoginContext) -> Credentials:
        client_id, secret = self._client(context)
        scope = context.option("scope")
        body = oauth.client_credentials(context.metadata(), context.http, client_id, secret, scope)
        if scope:
            self._check_granted(context, body, scope, client_id, secret)
        return context.credentials(body, kind="client_credentials", client_id=client_id)

    @staticmethod
    def _check_granted(
        context: LoginContext, body: dict[str, Any], asked: str, client_id: str, secret: str
    ) -> None:
        """Refuse (and revoke) a token without every scope asked for: the server grants only
        what the client is registered for, silently (RFC 6749 §3.3)."""
        granted = set(str(body.get("scope", asked)).split())
        missing = sorted(set(asked.split()) - granted)
        if not missing:
            return
        try:
            oauth.revoke(
                context.metadata(),
                context.http,
                str(body["access_token"]),
                "access_token",
                client_id,
                oauth.basic_auth(client_id, secret),
            )
        except LimenError as exc:
            context.console.warn(f"Could not revoke the narrower token: {exc.message}")
        raise Forbidden(
            f"The server granted the client {client_id!r} the scopes "
            f"{' '.join(sorted(granted)) or '(none)'}, not {' '.join(missing)}; nothing was "
            "saved.",
            "Ask an administrator to allow the client those scopes, or ask only for what it "
            "has (--scope).",
        )

    def renew(self, context: LoginContext, credentials: Credentials) -> Credentials | None:
        """A new token from LIMEN_CLIENT_SECRET when it is there (the secret is not stored)."""
        secret = context.env.get("LIMEN_CLIENT_SECRET")
        if (
            self.client_auth(context, credentials) is None
            or not secret
            or not credentials.client_id
        ):
            return None
        body = oauth.client_credentials(
            context.metadata(),
            context.http,
            credentials.client_id,
            secret,
            credentials.scope or None,
        )
        return context.credentials(
            body,
            kind="client_credentials",
            client_id=credentials.client_id,
            subject=credentials.subject,
            email=credentials.email,
        )

    def client_auth(self, context: LoginContext, credentials: Credentials) -> httpx.Auth | None:
        """client_secret_basic with LIMEN_CLIENT_SECRET, when it is set for this client."""
        secret = context.env.get("LIMEN_CLIENT_SECRET")
        client_id = credentials.client_id
        if (
            not secret
            or not client_id
            or context.env.get("LIMEN_CLIENT_ID", client_id) != client_id
        ):
            return None
        return oauth.basic_auth(client_id, secret)

    def _client(self, context: LoginContext) -> tuple[str, str]:
        console, env = context.console, context.env
        client_id = context.option("client_id") or env.get("LIMEN_CLIENT_ID")
        if not client_id:
            if not context.interactive:
                raise UsageError(
                    "No client id: set LIMEN_CLIENT_ID or pass --client-id.",
                )
            client_id = console.prompt("Client id", hint="Set LIMEN_CLIENT_ID or --client-id.")
        elif not context.option("client_id"):
            console.note("Using LIMEN_CLIENT_ID from the environment.")
        secret = context.option("client_secret")
        if context.option("secret_stdin"):
            secret = read_stdin_secret("client secret")
        elif not secret and env.get("LIMEN_CLIENT_SECRET"):
            secret = env["LIMEN_CLIENT_SECRET"]
            console.note("Using LIMEN_CLIENT_SECRET from the environment (it is not stored).")
        if not secret:
            if not context.interactive:
                raise UsageError(
                    "No client secret: set LIMEN_CLIENT_SECRET, or use --secret-stdin.",
                )
            secret = console.secret(
                "Client secret", hint="Set LIMEN_CLIENT_SECRET, or pipe it into --secret-stdin."
            )
        return str(client_id), str(secret)


@hookimpl(trylast=True)
def register_providers(register: Callable[[Provider], None]) -> None:
    register(ClientCredentialsProvider())
