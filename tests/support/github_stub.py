"""A local stand-in for GitHub that serves GitHub's documented response shapes (OAuth web
flow, /user, /user/emails, /user/orgs, /user/teams). There is no internet here; tests change
``GitHubStub.user`` and friends to play each case."""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.support.services import Managed


class GitHubStub(Managed):
    def __init__(self) -> None:
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
        self.codes: dict[str, str] = {}
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def _json(self, body: Any, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/login/oauth/authorize":  # GitHub asks the person, then:
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = secrets.token_hex(10)
                    stub.codes[code] = query.get("code_challenge", "")
                    target = (
                        query["redirect_uri"]
                        + "?"
                        + urlencode({"code": code, "state": query["state"]})
                    )
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                    return
                if self.headers.get("Authorization") != "Bearer gho_stubtoken":
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
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if (
                    urlsplit(self.path).path != "/login/oauth/access_token"
                    or form.get("code") not in stub.codes
                ):
                    self._json({"error": "bad_verification_code"}, 200)
                    return
                stub.codes.pop(form["code"])
                self._json(
                    {
                        "access_token": "gho_stubtoken",
                        "token_type": "bearer",
                        "scope": "read:user,user:email,read:org",
                    }
                )

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
