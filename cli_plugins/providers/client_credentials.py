"""Service accounts: the OAuth client credentials grant with client_secret_basic. The secret
comes from flags or LIMEN_CLIENT_ID/LIMEN_CLIENT_SECRET and is never stored."""

from __future__ import annotations

from collections.abc import Callable

from .. import oauth
from ..console import read_stdin_secret
from ..credentials import Credentials
from ..errors import UsageError
from ..hookspecs import hookimpl
from . import LoginContext, Provider


class ClientCredentialsProvider(Provider):
    name = "client-credentials"
    help = "A service account: OAuth client id + secret (LIMEN_CLIENT_ID / LIMEN_CLIENT_SECRET)."

    def login(self, context: LoginContext) -> Credentials:
        client_id, secret = self._client(context)
        scope = context.option("scope")
        body = oauth.client_credentials(context.metadata(), context.http, client_id, secret, scope)
        return context.credentials(body, kind="client_credentials", client_id=client_id)

    def renew(self, context: LoginContext, credentials: Credentials) -> Credentials | None:
        """A new token from LIMEN_CLIENT_SECRET when it is there (the secret is not stored)."""
        secret = context.env.get("LIMEN_CLIENT_SECRET")
        env_id = context.env.get("LIMEN_CLIENT_ID")
        if not secret or not credentials.client_id or (env_id and env_id != credentials.client_id):
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

    def _client(self, context: LoginContext) -> tuple[str, str]:
        console, env = context.console, context.env
        client_id = context.option("client_id") or env.get("LIMEN_CLIENT_ID")
        if not client_id:
            if not context.interactive:
                raise UsageError(
                    "No client id: set LIMEN_CLIENT_ID or pass --client-id.",
                )
            client_id = console.prompt("Client id")
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
            secret = console.secret("Client secret")
        return str(client_id), str(secret)


@hookimpl(trylast=True)
def register_providers(register: Callable[[Provider], None]) -> None:
    register(ClientCredentialsProvider())
