"""Run the Limen WSGI app under granian (the production server) in a subprocess."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.support.services import Managed, free_port, log_tail

__all__ = ["REPO_ROOT", "STARTED", "LiveServer"]

REPO_ROOT = Path(__file__).resolve().parents[2]
# Every node this test process started, however it was built: the session's log scan reads
# all of them (tests/conftest.py).
STARTED: list[LiveServer] = []


class LiveServer(Managed):
    """granian serving ``webapp:create_app()`` (WSGI) on a loopback port, as
    ``limen-server run`` does.

    ``env`` overrides the inherited environment; ``LIMEN_ISSUER`` defaults to the server's
    own URL. The database is migrated first unless ``migrate=False``.
    """

    APP = "webapp:create_app"
    MIGRATE_CMD = ("-m", "webapp.cli", "db", "upgrade")

    def __init__(
        self,
        env: dict[str, str],
        *,
        workers: int = 1,
        threads: int = 1,
        port: int | None = None,
        migrate: bool = True,
    ) -> None:
        self._port = port if port is not None else free_port()
        self._workers = workers
        self._threads = threads
        self._migrate = migrate
        # The issuer is the server's own URL unless the caller's env says otherwise
        # (an inherited LIMEN_ISSUER from the shell does not count).
        self._env = {**os.environ, "LIMEN_ISSUER": self.url, **env}
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None
        self._last_log = ""
        self.log_path: Path | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def env(self) -> dict[str, str]:
        """The complete environment of the server process (a copy)."""
        return dict(self._env)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_text(self) -> str:
        """The server's combined stdout/stderr (still available after ``stop()``)."""
        if self.log_path is not None and self.log_path.exists():
            return self.log_path.read_text(errors="replace")
        return self._last_log

    def migrate(self) -> None:
        """Run ``python -m webapp.cli db upgrade`` with the server's env."""
        res = subprocess.run(
            [sys.executable, *self.MIGRATE_CMD],
            cwd=REPO_ROOT,
            env=self._env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if res.returncode != 0:
            raise RuntimeError(
                f"migration failed (exit {res.returncode}):\n{res.stdout}\n{res.stderr}"
            )

    def start(self, timeout: float = 30.0) -> None:
        """Migrate (optionally), start granian and wait for ``/healthz`` to answer 200."""
        if self.running:
            return
        if self._migrate:
            self.migrate()
        self._dir = Path(tempfile.mkdtemp(prefix="limen-live-"))
        self.log_path = self._dir / "server.log"
        if self not in STARTED:
            STARTED.append(self)
        cmd = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self._port),
            "--workers",
            str(self._workers),
            "--blocking-threads",
            str(self._threads),
            "--no-ws",
            "--access-log",  # scanned for secrets with the rest of the log
            "--workers-kill-timeout",
            "5",
            self.APP,
        ]
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                cmd,
                cwd=REPO_ROOT,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        atexit.register(self.stop)
        try:
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, timeout: float) -> None:
        assert self._proc is not None and self.log_path is not None
        deadline = time.monotonic() + timeout
        last = "no answer"
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self._proc.poll() is not None:
                    raise RuntimeError(
                        f"the server exited early with status {self._proc.returncode}\n"
                        + log_tail(self.log_path, lines=60)
                    )
                try:
                    resp = client.get(f"{self.url}/healthz")
                    if resp.status_code == 200:
                        return
                    last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the server on {self.url} not healthy after {timeout:.0f}s ({last})\n"
                        + log_tail(self.log_path, lines=60)
                    )
                time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL after 10 s; remove the temp dir. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            self._signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._signal_group(proc, signal.SIGKILL)
                proc.wait()
            # Workers may linger briefly after the arbiter; make sure the group is gone.
            self._signal_group(proc, signal.SIGKILL)
        if self._dir is not None:
            self._last_log = self.log_text()
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        atexit.unregister(self.stop)

    @staticmethod
    def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
