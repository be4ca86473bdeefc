"""A tiny git remote over HTTP (git's "dumb" protocol: static files of a bare repository)
that lets in only requests whose Basic password is an access token Limen accepts, checked
against the real server's /api/v1/me. It records who each accepted request came from."""

from __future__ import annotations

import base64
import http.server
import subprocess
import threading
from pathlib import Path

import httpx


def make_bare_repo(root: Path, content: str) -> Path:
    """``root/repo.git`` with one commit holding README (content), ready for dumb HTTP."""
    work = root / "work"
    git = [
        "git",
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "-c",
        "init.defaultBranch=main",
    ]
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    (work / "README").write_text(content)
    subprocess.run([*git, "-C", str(work), "add", "README"], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "first"], check=True)
    bare = root / "repo.git"
    subprocess.run([*git, "clone", "-q", "--bare", str(work), str(bare)], check=True)
    subprocess.run(["git", "-C", str(bare), "update-server-info"], check=True)
    return bare


class LimenGitRemote:
    """Serves ``root`` on 127.0.0.1 for requests carrying a token ``limen_url`` accepts."""

    def __init__(self, root: Path, limen_url: str) -> None:
        self.root = root
        self.limen_url = limen_url
        self.seen: list[str] = []  # the email behind each accepted request
        remote = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(remote.root), **kwargs)

            def do_GET(self) -> None:
                who = remote.check(self.headers.get("Authorization", ""))
                if who is None:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="limen"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                remote.seen.append(who)
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def check(self, header: str) -> str | None:
        """The account behind a Basic header whose password is a live Limen token."""
        if not header.startswith("Basic "):
            return None
        _, _, token = base64.b64decode(header[6:]).decode().partition(":")
        answer = httpx.get(
            f"{self.limen_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        return str(answer.json()["email"]) if answer.status_code == 200 else None

    def __enter__(self) -> LimenGitRemote:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
