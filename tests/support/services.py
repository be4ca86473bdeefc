"""Private, throw-away Redis and PostgreSQL servers for integration tests."""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self, cast

import psycopg
import redis
from psycopg import sql

__all__ = ["Managed", "PostgresCluster", "RedisServer", "free_port", "log_tail"]


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago and that this process has not
    handed out before: a server started a moment ago may not have bound its port yet, and the
    kernel can offer that port again (a Sentinel once got its replica's port)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def log_tail(*paths: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of each non-empty file, for error messages."""
    chunks = []
    for path in paths:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if text.strip():
            chunks.append(f"--- {path.name} ---\n" + "\n".join(text.splitlines()[-lines:]))
    return "\n".join(chunks) or "(no log output)"


class Managed:
    """Context-manager support for anything with ``start()``/``stop()``."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class RedisServer(Managed):
    """A private ``redis-server`` on a loopback port, restartable on that same port."""

    def __init__(self, port: int | None = None, *, binary: str = "redis-server") -> None:
        self._port = port if port is not None else free_port()
        self._binary = shutil.which(binary) or binary
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self._port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start the server (fresh, empty) and wait until it answers."""
        if self.running:
            return
        self._dir = Path(tempfile.mkdtemp(prefix="limen-redis-"))
        logfile, outfile = self._dir / "redis.log", self._dir / "redis.out"
        cmd = [
            self._binary,
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self._port),
            "--daemonize",
            "no",
            "--dir",
            str(self._dir),
            "--logfile",
            str(logfile),
        ]
        with outfile.open("wb") as out:
            self._proc = subprocess.Popen(
                cmd, cwd=self._dir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                problem = f"exited with status {self._proc.returncode}"
            elif self._server_pid() == self._proc.pid:  # not some other server on the port
                return
            elif time.monotonic() > deadline:
                problem = f"did not answer PING within {timeout:.0f}s"
            else:
                time.sleep(0.05)
                continue
            tail = log_tail(logfile, outfile)
            self.stop()
            raise RuntimeError(f"redis-server on port {self._port} {problem}\n{tail}")

    def ping(self) -> bool:
        """True if a server answers on the port right now."""
        return self._server_pid() is not None

    def _server_pid(self) -> int | None:
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        try:
            info = cast("dict[str, object]", client.info("server"))
            return int(str(info["process_id"]))
        except (redis.RedisError, OSError, KeyError, ValueError):
            return None
        finally:
            client.close()

    def stop(self) -> None:
        """Terminate (then kill) the server and remove its temp dir. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        atexit.unregister(self.stop)

    def restart(self) -> None:
        """Stop and start again on the same port (all data is lost)."""
        self.stop()
        self.start()


def _pg_bindir() -> Path:
    """Directory holding initdb/pg_ctl: ``pg_config --bindir``, else the highest installed."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(p) for p in Path(path).parent.name.split(".") if p.isdigit())

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    candidates += [Path(p) for p in found]
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    for cand in candidates:
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")


class PostgresCluster(Managed):
    """A private PostgreSQL cluster (``initdb`` + ``pg_ctl``) on a loopback port.

    As root, the server binaries run as the ``postgres`` OS user via ``runuser``.
    """

    def __init__(self, port: int | None = None) -> None:
        self._port = port if port is not None else free_port()
        self._bindir = _pg_bindir()
        self._dir: Path | None = None
        self._as_postgres = os.geteuid() == 0
        self._opts = ""

    @property
    def port(self) -> int:
        return self._port

    @property
    def admin_url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        """URL of database ``name`` in this cluster (it need not exist)."""
        return f"postgresql://postgres@127.0.0.1:{self._port}/{name}"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        assert self._dir is not None
        cmd = [str(self._bindir / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(
            cmd,
            cwd=self._dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, timeout: float = 30.0) -> None:
        """initdb a fresh cluster, start it and wait until it accepts connections."""
        if self._dir is not None:
            return
        sock = self._make_dir("limen-pg-")
        data = self._dir / "data"
        try:
            init = self._run(
                "initdb",
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            )
            if init.returncode != 0:
                raise RuntimeError(f"initdb failed:\n{init.stdout}{init.stderr}")
            self._opts = self._server_options(sock)
            self.start_server(timeout)
        except BaseException:
            self.stop()
            raise

    def _make_dir(self, prefix: str) -> Path:
        """The cluster's temp folder (removed by ``stop()``) and its socket folder, owned by
        the ``postgres`` user when the servers run as it; returns the socket folder."""
        self._dir = Path(tempfile.mkdtemp(prefix=prefix))
        atexit.register(self.stop)
        sock = self._dir / "sock"
        sock.mkdir()
        if self._as_postgres:
            pw = pwd.getpwnam("postgres")
            for path in (self._dir, sock):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        return sock

    def _server_options(self, sock: Path) -> str:
        return shlex.join(
            [
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
                "-k",
                str(sock),
                "-h",
                "127.0.0.1",
                "-p",
                str(self._port),
                "-c",
                "max_connections=200",
            ]
        )

    def replica(self, timeout: float = 60.0) -> PostgresCluster:
        """A streaming replica of this cluster on its own port (``pg_basebackup -R``: a hot
        standby that follows this primary until it is promoted). Stop it like any cluster."""
        assert self._dir is not None, "start() first"
        standby = PostgresCluster()
        sock = standby._make_dir("limen-pg-replica-")
        assert standby._dir is not None
        try:
            base = standby._run(
                "pg_basebackup",
                "-h",
                "127.0.0.1",
                "-p",
                str(self._port),
                "-U",
                "postgres",
                "-D",
                str(standby._dir / "data"),
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",  # not a spread checkpoint: minutes on an idle cluster
                "--no-sync",
                timeout=timeout,
            )
            if base.returncode != 0:
                raise RuntimeError(f"pg_basebackup failed:\n{base.stdout}{base.stderr}")
            standby._opts = standby._server_options(sock)
            standby.start_server(timeout)
        except BaseException:
            standby.stop()
            raise
        return standby

    def promote(self) -> None:
        """Make this standby the primary (what Patroni or a managed service does on failover)."""
        assert self._dir is not None, "start() first"
        res = self._run("pg_ctl", "-D", str(self._dir / "data"), "-w", "promote")
        if res.returncode != 0:
            raise RuntimeError(f"pg_ctl promote failed:\n{res.stdout}{res.stderr}")

    def start_server(self, timeout: float = 30.0) -> None:
        """Start the (initialised) cluster's server and wait until it accepts connections."""
        assert self._dir is not None, "start() first"
        data, log = self._dir / "data", self._dir / "postgres.log"
        ctl = self._run(
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(log),
            "-o",
            self._opts,
            "-w",
            "-t",
            str(int(timeout)),
            "start",
            timeout=timeout + 10,
        )
        if ctl.returncode != 0:
            raise RuntimeError(
                f"pg_ctl start failed ({ctl.returncode}):\n"
                f"{ctl.stdout}{ctl.stderr}\n{log_tail(log)}"
            )
        self._wait_ready(timeout, log)

    def stop_server(self) -> None:
        """Stop the server but keep the cluster, to start it again (fault tests).

        The clients see their connections cut mid-use either way; "fast" rather than
        "immediate" because the cluster runs with synchronous_commit=off, and a crash would
        also lose the last commits (an account registered just before the outage)."""
        assert self._dir is not None, "start() first"
        res = self._run("pg_ctl", "-D", str(self._dir / "data"), "-m", "fast", "-w", "stop")
        if res.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed:\n{res.stdout}{res.stderr}")

    def _wait_ready(self, timeout: float, log: Path) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.admin_url, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.Error as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PostgreSQL on port {self._port} not ready after "
                        f"{timeout:.0f}s: {exc}\n{log_tail(log)}"
                    ) from exc
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop immediately (``-m immediate``) and delete the cluster. Idempotent."""
        if self._dir is not None:
            data = self._dir / "data"
            pid = self._postmaster_pid(data)
            if pid is not None:
                res = self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
                if res.returncode != 0:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        atexit.unregister(self.stop)

    @staticmethod
    def _postmaster_pid(data: Path) -> int | None:
        try:
            return int((data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its URL."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting its sessions first."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
