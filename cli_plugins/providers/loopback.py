"""The one-shot redirect listener of the browser login: 127.0.0.1, random or fixed port
(RFC 8252 §7.3), and the pages the browser shows when it lands there."""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from ..errors import LimenError

if TYPE_CHECKING:  # http.server loads when a browser login starts, not with every command
    from http.server import BaseHTTPRequestHandler

CALLBACK_PATH = "/callback"
VERDICT_WAIT = 60.0  # how long the browser's page waits for the code exchange
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - Limen</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;
color:#1d2330}}h1{{font-size:1.4rem;color:{color}}}p{{line-height:1.5}}</style></head>
<body><h1>{title}</h1><p>{message}</p><p>{next_step}</p></body></html>
"""


class CallbackRejected(Exception):
    """A redirect the CLI does not accept; ``fatal`` ends the login, else it keeps waiting."""

    def __init__(self, message: str, *, fatal: bool) -> None:
        super().__init__(message)
        self.message = message
        self.fatal = fatal


def page(ok: bool, message: str) -> bytes:
    """The HTML shown in the browser after the redirect."""
    if ok:
        title, color, next_step = (
            "Signed in",
            "#17663a",
            "You can close this tab and return to the terminal.",
        )
    else:
        title, color, next_step = "Sign-in failed", "#a1261b", "Return to the terminal for details."
    return PAGE.format(
        title=title, color=color, message=html.escape(message), next_step=next_step
    ).encode()


Validator = Callable[[dict[str, str]], str]


class LoopbackReceiver:
    """Serves until one acceptable redirect arrives on /callback. The browser's page waits
    for ``finish()``, so it tells the truth about the whole login (code exchange included)."""

    def __init__(self, port: int, validate: Validator, on_ignored: Callable[[str], None]) -> None:
        self._validate = validate
        self._on_ignored = on_ignored
        self._done = threading.Event()
        self._verdict = threading.Event()
        self._responded = threading.Event()
        self._outcome = (False, "The login did not finish; see the terminal.")
        self._code: str | None = None
        self._error: str | None = None
        from http.server import ThreadingHTTPServer

        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        except OSError as exc:
            raise LimenError(
                f"Cannot listen on 127.0.0.1:{port} for the browser's redirect ({exc.strerror}).",
                "Choose another port with --port, or leave it out to use a random one.",
            ) from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    def __enter__(self) -> LoopbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._verdict.set()  # a page still waiting gets the default failure message
        if self._code is not None or self._error is not None:
            self._responded.wait(5)  # the browser gets its page (success or refusal) first
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def wait(self, timeout: float) -> str:
        """The authorization code; raises on a fatal redirect or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self._done.wait(0.2):
            if time.monotonic() > deadline:
                raise LimenError(
                    f"No answer from the browser within {timeout:.0f} s.",
                    "Run `limen login` again, or use `limen login --device` if the browser cannot "
                    "reach this machine.",
                )
        if self._error is not None:
            raise LimenError(self._error, "Run `limen login` again.")
        assert self._code is not None
        return self._code

    def finish(self, ok: bool, message: str) -> None:
        """Let the waiting browser page show the final result."""
        self._outcome = (ok, message)
        self._verdict.set()

    def _receive(self, target: str) -> tuple[int, bytes]:
        parts = urlsplit(target)
        if parts.path != CALLBACK_PATH or self._done.is_set():
            return 404, page(False, "Nothing to see here.")
        try:
            code = self._validate(dict(parse_qsl(parts.query, keep_blank_values=True)))
        except CallbackRejected as exc:
            if exc.fatal:
                self._error = exc.message
                self._done.set()
            else:
                self._on_ignored(exc.message)
            return 400, page(False, exc.message)
        self._code = code
        self._done.set()
        self._verdict.wait(VERDICT_WAIT)
        ok, message = self._outcome
        return (200 if ok else 400), page(ok, message)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        from http.server import BaseHTTPRequestHandler

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a browser's idle pre-connection must not hold a thread forever

            def do_GET(self) -> None:
                status, body = receiver._receive(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                if status != 404:
                    receiver._responded.set()

            def log_message(self, format: str, *args: object) -> None:
                return  # the terminal shows the login's progress, not an access log

        return Handler
