"""Browser login: authorization code + PKCE (S256) with a loopback redirect (RFC 8252),
state and RFC 9207 ``iss`` checks, or a pasted redirect URL (--paste)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

from .. import oauth
from ..credentials import Credentials
from ..errors import LimenError, UsageError
from ..hookspecs import hookimpl
from . import LoginContext, Provider
from .launch import open_sign_in_url
from .loopback import CALLBACK_PATH, CallbackRejected, LoopbackReceiver

DEFAULT_TIMEOUT = 300


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_callback(params: dict[str, str], *, state: str, issuer: str, iss_required: bool) -> str:
    """The code from a redirect's parameters, after the state and issuer checks."""
    if params.get("state") != state:
        raise CallbackRejected(
            "Ignored a sign-in response that does not belong to this login (state mismatch).",
            fatal=False,
        )
    iss = params.get("iss")
    if iss is None and iss_required:
        raise CallbackRejected(
            "The sign-in response has no 'iss' although the server promises one (RFC 9207); "
            "refusing it.",
            fatal=True,
        )
    if iss is not None and iss != issuer:
        raise CallbackRejected(
            f"The sign-in response came from issuer {iss!r}, not {issuer!r}; refusing it "
            "(possible mix-up attack).",
            fatal=True,
        )
    if params.get("error"):
        description = params.get("error_description") or params["error"]
        raise CallbackRejected(
            f"The server refused the sign-in: {description} ({params['error']}).", fatal=True
        )
    if not params.get("code"):
        raise CallbackRejected("The sign-in response carries no code.", fatal=True)
    return params["code"]


def authorize_url(endpoint: str, params: dict[str, str]) -> str:
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)


def fresh_sign_in(context: LoginContext) -> dict[str, str]:
    """``--max-age N`` / ``--acr-values V`` (step-up, RFC 9470): ask the server to sign the
    person in again (OIDC Core prompt=login, max_age, acr_values) even in a live session."""
    params: dict[str, str] = {}
    max_age, acr = context.option("max_age"), context.option("acr_values")
    if max_age is not None:
        params["max_age"] = str(int(max_age))
        params["prompt"] = "login"
    if acr:
        params["acr_values"] = str(acr)
    return params


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BrowserProvider(Provider):
    name = "browser"
    help = "Sign in with your web browser (authorization code + PKCE, loopback redirect)."
    needs_browser = True

    def login(self, context: LoginContext) -> Credentials:
        metadata = context.metadata()
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(32)
        port = int(context.option("port") or 0)

        def validate(params: dict[str, str]) -> str:
            return check_callback(
                params,
                state=state,
                issuer=metadata.issuer,
                iss_required=metadata.iss_parameter_supported,
            )

        def url_for(redirect_uri: str) -> str:
            params = {
                "response_type": "code",
                "client_id": oauth.CLI_CLIENT_ID,
                "redirect_uri": redirect_uri,
                "scope": context.option("scope") or oauth.CLI_SCOPES,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
            if context.option("user"):
                params["login_hint"] = context.option("user")
            params.update(fresh_sign_in(context))
            if context.option("org"):  # the tokens' org claim; members only (docs/cli.md)
                params["organization"] = context.option("org")
            return authorize_url(metadata.endpoint("authorization_endpoint"), params)

        if context.option("paste"):
            redirect_uri = f"http://127.0.0.1:{port or free_port()}{CALLBACK_PATH}"
            code = self._pasted(context, url_for(redirect_uri), validate)
            return self._exchange(context, code, redirect_uri, verifier)
        receiver = LoopbackReceiver(port, validate, context.console.warn)
        with receiver:
            self._show(context, url_for(receiver.redirect_uri), fixed_port=port or None)
            code = receiver.wait(float(context.option("timeout", DEFAULT_TIMEOUT)))
            try:
                creds = self._exchange(context, code, receiver.redirect_uri, verifier)
            except LimenError as exc:
                receiver.finish(False, exc.message)
                raise
            receiver.finish(True, f"You are signed in to Limen as {creds.email or creds.subject}.")
            return creds

    def _exchange(
        self, context: LoginContext, code: str, redirect_uri: str, verifier: str
    ) -> Credentials:
        """Code + PKCE verifier for tokens, then the caller's identity check."""
        tokens = oauth.token_request(
            context.metadata(),
            context.http,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": oauth.CLI_CLIENT_ID,
                "code_verifier": verifier,
            },
        )
        creds = context.credentials(tokens, client_id=oauth.CLI_CLIENT_ID)
        context.confirm(creds)
        return creds

    def _show(self, context: LoginContext, url: str, fixed_port: int | None) -> None:
        console = context.console
        opened = not context.option("no_browser") and open_sign_in_url(
            url, context.env, context.interactive, console.warn
        )
        console.say(
            "Your browser has been opened to sign in. If it did not open, visit:"
            if opened
            else "Open this URL in a browser to sign in:"
        )
        console.say()
        console.say(f"  {url}")
        console.say()
        if fixed_port:
            console.say(
                f"On a remote machine? Forward the port first: "
                f"ssh -L {fixed_port}:127.0.0.1:{fixed_port} <this host>"
            )
        timeout = float(context.option("timeout", DEFAULT_TIMEOUT))
        console.say(f"Waiting for the browser (up to {timeout:.0f} s; Ctrl-C to cancel)...")

    def _pasted(
        self, context: LoginContext, url: str, validate: Callable[[dict[str, str]], str]
    ) -> str:
        if not context.interactive:
            raise UsageError("--paste needs a terminal to paste into.")
        context.console.say("Open this URL in any browser and sign in:")
        context.console.say(f"\n  {url}\n")
        context.console.say(
            "The browser then fails to load a 127.0.0.1 page; that is expected. Copy the full URL "
            "from its address bar."
        )
        pasted = context.console.prompt("Paste the URL here")
        parts = urlsplit(pasted)
        if not parts.query:
            raise LimenError("That is not the redirect URL (it has no query string).")
        try:
            return validate(dict(parse_qsl(parts.query, keep_blank_values=True)))
        except CallbackRejected as exc:
            raise LimenError(exc.message, "Run `limen login --paste` again.") from exc


@hookimpl(trylast=True)
def register_providers(register: Callable[[Provider], None]) -> None:
    register(BrowserProvider())
