"""Email + password at a hidden prompt, sent to the server's JSON login endpoint
(``limen_login_endpoint``), plus a one-time code when the account uses two-step verification;
the tokens refresh through /oauth/token like any other."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from .. import oauth
from ..console import read_stdin_secret
from ..credentials import Credentials
from ..errors import AuthRequired
from ..hookspecs import hookimpl
from ..http import check, json_body, unreachable
from . import LoginContext, Provider


class PasswordProvider(Provider):
    name = "password"
    help = "Email and password at a hidden prompt (accounts with a local password)."
    needs_tty = True

    def login(self, context: LoginContext) -> Credentials:
        metadata = context.metadata()
        endpoint = metadata.endpoint("limen_login_endpoint")
        email = context.option("user") or context.console.prompt("Email")
        if context.option("secret_stdin"):
            password = read_stdin_secret("password")
        else:
            password = context.console.secret("Password")
        body = {"email": email, "password": password, "client_id": oauth.CLI_CLIENT_ID}
        response = self._post(context, endpoint, body)
        if response.status_code == 401 and json_body(response).get("mfa_required"):
            body["otp"] = str(
                context.option("otp")
                or context.console.prompt(
                    "One-time code (or a recovery code)",
                    hint="Pass the current code with -o otp=CODE (or a recovery code).",
                )
            ).strip()
            response = self._post(context, endpoint, body)
        if response.status_code == 401:
            detail = json_body(response).get("detail") or "wrong email or password"
            raise AuthRequired(
                f"Sign-in failed for {email}: {detail}",
                "Check both and try again; repeated failures lock the account for a while.",
            )
        tokens = json_body(check(response, what="Sign-in"))
        return context.credentials(tokens, client_id=oauth.CLI_CLIENT_ID, email=email)

    @staticmethod
    def _post(context: LoginContext, endpoint: str, body: dict[str, str]) -> httpx.Response:
        try:
            return context.http.post(endpoint, json=body)
        except httpx.HTTPError as exc:
            raise unreachable(context.server, exc) from exc


@hookimpl(trylast=True)
def register_providers(register: Callable[[Provider], None]) -> None:
    register(PasswordProvider())
