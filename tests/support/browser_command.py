"""A "browser command" for `limen login --browser` (LIMEN_BROWSER) that hands the URL to the
test process, which then drives a real Chromium to it.

Run as a script (stdlib only): ``python browser_command.py PORT URL`` sends URL to
127.0.0.1:PORT. Imported: ``BrowserCommand`` listens there and gives the test each URL.
"""

from __future__ import annotations

import shlex
import socket
import sys
from pathlib import Path


class BrowserCommand:
    """Listens on a loopback port; ``command`` is the LIMEN_BROWSER value that reaches it."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(30)
        port = self._sock.getsockname()[1]
        self.command = shlex.join([sys.executable, str(Path(__file__).resolve()), str(port)])

    def __enter__(self) -> BrowserCommand:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()

    def next_url(self) -> str:
        """The next URL the CLI asked a browser to open (waits up to 30 s)."""
        conn, _ = self._sock.accept()
        with conn, conn.makefile("r", encoding="utf-8") as lines:
            return lines.readline().strip()


def main(port: str, url: str) -> None:
    with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as conn:
        conn.sendall(url.encode("utf-8") + b"\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
