"""A local stand-in for GitHub that behaves as GitHub's OAuth web flow does and serves its
documented response shapes (/user, /user/emails, /user/orgs, /user/teams). There is no
internet here; tests change ``GitHubStub.user`` and friends to play each case.

Like GitHub, the stand-in:
- shows an authorization page with an "Authorize" button the first time a person authorizes
  the app (``authorized`` remembers it; later sign-ins redirect at once), and sends the
  person back with ``error=access_denied`` on "Cancel";
- refuses a ``redirect_uri`` outside the registered callback URL (``callback``);
- at the token endpoint checks the client secret (``incorrect_client_credentials``), that
  ``redirect_uri`` is the one the code was issued for (``redirect_uri_mismatch``), the PKCE
  verifier against the challenge and that the code is unused (``bad_verification_code``),
  answering errors with status 200 as GitHub does.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.support.services import Managed

AUTHORIZE_PATH = "/login/oauth/authorize"
ACCESS_TOKEN = "gho_" + "Stub" * 9  # the shape of a GitHub token: gho_ and 36 characters


@dataclass(frozen=True)
class IssuedCode:
    redirect_uri: str
    code_challenge: str


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class GitHubStub(Managed):
    def __init__(self, client_id: str = "gh-client", client_secret: str = "gh-secret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.callback: str | None = None  # the app's registered callback URL, once known
        self.authorized = False  # has the person authorized the app before?
        self.user: dict[str, Any] = {"id": 4242, "login": "octo", "name": "Octo Cat"}
        self.emails: list[dict[str, Any]] = [
            {
                "email": "octo@corp.example",
                "primary": True,
                "verified": True,
                "visibility": "private",
            }
        ]
        self.orgs: list[str] = ["acme"]
        self.teams: list[tuple[str, str]] = [("acme", "platform")]
        self.codes: dict[str, IssuedCode] = {}
        self.authorize_requests: list[dict[str, str]] = []  # what the app asked for
        self.token_errors: list[str] = []  # every error the token endpoint answered
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def _json(self, body: Any, status: int = 200) -> None:
                self._send(status, "application/json", json.dumps(body).encode())

            def _send(self, status: int, kind: str, data: bytes, **headers: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _form(self) -> dict[str, str]:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length).decode()
                return {k: v[0] for k, v in parse_qs(raw).items()}

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == AUTHORIZE_PATH:
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    stub._authorize(self, query, decision=None)
                    return
                if self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
                    self._json({"message": "Bad credentials"}, 401)
                    return
                routes = {
                    "/api/v3/user": lambda: stub.user,
                    "/api/v3/user/emails": lambda: stub.emails,
                    "/api/v3/user/orgs": lambda: [{"login": o} for o in stub.orgs],
                    "/api/v3/user/teams": lambda: [
                        {"slug": t, "organization": {"login": o}} for o, t in stub.teams
                    ],
                }
                handler = routes.get(url.path)
                self._json(
                    handler() if handler else {"message": "Not Found"}, 200 if handler else 404
                )

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                form = self._form()
                if path == AUTHORIZE_PATH:
                    stub._authorize(self, form, decision=form.get("decision", ""))
                elif path == "/login/oauth/access_token":
                    basic = self.headers.get("Authorization", "")
                    if basic.startswith("Basic "):
                        user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
                        form = {**form, "client_id": user, "client_secret": password}
                    error = stub._token_error(form)
                    if error:
                        stub.token_errors.append(error)
                        self._json({"error": error})
                        return
                    self._json(
                        {
                            "access_token": ACCESS_TOKEN,
                            "token_type": "bearer",
                            "scope": "read:user,user:email,read:org",
                        }
                    )
                else:
                    self._json({"message": "Not Found"}, 404)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- the web flow --------------------------------------------------------------------------
    def _authorize(self, handler: Any, params: dict[str, str], decision: str | None) -> None:
        if decision is None:
            self.authorize_requests.append(params)
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id or not self._callback_ok(redirect_uri):
            text = "The redirect_uri MUST match the registered callback URL for this application."
            handler._send(400, "text/html", f"<h1>{html.escape(text)}</h1>".encode())
            return
        if decision is None and not self.authorized:  # first time: GitHub asks the person
            handler._send(200, "text/html; charset=utf-8", self._authorize_page(params))
            return
        answer: dict[str, str] = {"state": params.get("state", "")}
        if decision == "cancel":
            answer = {"error": "access_denied", **answer}
        else:
            self.authorized = True
            code = secrets.token_hex(10)
            self.codes[code] = IssuedCode(redirect_uri, params.get("code_challenge", ""))
            answer = {"code": code, **answer}
        handler._send(302, "text/plain", b"", Location=f"{redirect_uri}?{urlencode(answer)}")

    def _callback_ok(self, redirect_uri: str) -> bool:
        if self.callback is None:
            return bool(redirect_uri)
        asked, registered = urlsplit(redirect_uri), urlsplit(self.callback)
        return asked.netloc == registered.netloc and asked.path.startswith(registered.path)

    def _authorize_page(self, params: dict[str, str]) -> bytes:
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        return (
            "<!doctype html><title>Authorize application</title>"
            f"<h1>Authorize {html.escape(self.client_id)}</h1>"
            f'<form method="post" action="{AUTHORIZE_PATH}">{fields}'
            '<button name="decision" value="cancel">Cancel</button>'
            '<button name="decision" value="authorize">Authorize</button></form>'
        ).encode()

    def _token_error(self, form: dict[str, str]) -> str | None:
        if form.get("client_id") != self.client_id or not secrets.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            return "incorrect_client_credentials"
        issued = self.codes.pop(form.get("code", ""), None)
        if issued is None:
            return "bad_verification_code"  # unknown, or already used
        if form.get("redirect_uri", issued.redirect_uri) != issued.redirect_uri:
            return "redirect_uri_mismatch"
        verifier = form.get("code_verifier")
        if issued.code_challenge and (verifier is None or s256(verifier) != issued.code_challenge):
            return "bad_verification_code"
        return None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def authorize(
    browser: httpx.Client, page: httpx.Response, decision: str = "authorize", follow: bool = True
) -> httpx.Response:
    """Press a button on the stand-in's authorization page (what a person does at GitHub);
    with ``follow=False`` the answer is GitHub's redirect back to the app, not followed."""
    if page.url.path != AUTHORIZE_PATH:
        return page  # authorized before: GitHub sent the person straight back
    hidden = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)
    fields = {html.unescape(name): html.unescape(value) for name, value in hidden}
    return browser.post(
        str(page.url.copy_with(query=None)),
        data={**fields, "decision": decision},
        follow_redirects=follow,
    )
