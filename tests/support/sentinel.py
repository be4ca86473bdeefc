"""A private Redis master + replica watched by three Sentinels, on loopback, for failover drills."""

from __future__ import annotations

import atexit
import contextlib
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import redis

from tests.support.services import Managed, free_port, log_tail

__all__ = ["SentinelSet"]

MASTER_NAME = "limen"


class _Process:
    """One redis-server (data node or Sentinel) in its own directory."""

    def __init__(self, name: str, root: Path, args: list[str]) -> None:
        self.name = name
        self.port = free_port()
        self.dir = root / name
        self.dir.mkdir()
        self.log = self.dir / "redis.log"
        self._args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, binary: str, config: str | None = None) -> None:
        cmd = [binary]
        if config is not None:  # a Sentinel rewrites its config file: it must be a file
            conf = self.dir / "sentinel.conf"
            conf.write_text(config.format(port=self.port, dir=self.dir, log=self.log))
            cmd += [str(conf), "--sentinel"]
        else:
            cmd += [
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--logfile",
                str(self.log),
                "--repl-diskless-sync",
                "yes",
                "--repl-diskless-sync-delay",
                "0",
                *self._args,
            ]
        self.proc = subprocess.Popen(
            cmd, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(5)


SENTINEL_CONF = """\
port {port}
bind 127.0.0.1
daemonize no
dir {dir}
logfile {log}
sentinel resolve-hostnames no
sentinel monitor limen 127.0.0.1 MASTER_PORT 2
sentinel down-after-milliseconds limen 1000
sentinel failover-timeout limen 4000
sentinel parallel-syncs limen 1
"""


class SentinelSet(Managed):
    """Master + replica + three Sentinels (quorum 2, down after 1 s); ``url`` is the
    ``redis+sentinel://`` URL Limen is given. ``kill_master()`` / ``freeze_master()`` take
    the first master away."""

    def __init__(self, binary: str = "redis-server") -> None:
        self._binary = shutil.which(binary) or binary
        self._root: Path | None = None
        self.master: _Process | None = None
        self.replica: _Process | None = None
        self.sentinels: list[_Process] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{MASTER_NAME}/0"

    def start(self, timeout: float = 20.0) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="limen-sentinel-"))
        atexit.register(self.stop)
        try:
            self.master = _Process("master", self._root, [])
            self.master.start(self._binary)
            replica_of = ["--replicaof", "127.0.0.1", str(self.master.port)]
            self.replica = _Process("replica", self._root, replica_of)
            self.replica.start(self._binary)
            conf = SENTINEL_CONF.replace("MASTER_PORT", str(self.master.port))
            for n in range(3):
                sentinel = _Process(f"sentinel{n}", self._root, [])
                sentinel.start(self._binary, conf)
                self.sentinels.append(sentinel)
            self._wait(timeout, self._ready, "the replica synced and the Sentinels met")
        except BaseException:
            self.stop()
            raise

    def sentinel_view(self, sentinel: _Process) -> dict[str, Any]:
        client = sentinel.client()
        try:
            return cast("dict[str, Any]", client.sentinel_master(MASTER_NAME))
        finally:
            client.close()

    def _ready(self) -> bool:
        assert self.replica is not None and self.master is not None
        client = self.replica.client()
        try:
            info = cast("dict[str, Any]", client.info("replication"))
        finally:
            client.close()
        if info.get("master_link_status") != "up":
            return False
        for sentinel in self.sentinels:
            view = self.sentinel_view(sentinel)
            if view["num-other-sentinels"] < 2 or view["num-slaves"] < 1:
                return False
            if int(view["port"]) != self.master.port:
                return False
        return True

    def master_port(self) -> int | None:
        """The master's port as a majority of Sentinels see it (None while they disagree)."""
        ports = []
        for sentinel in self.sentinels:
            try:
                ports.append(int(self.sentinel_view(sentinel)["port"]))
            except (redis.RedisError, OSError, KeyError):
                continue
        best = max(set(ports), key=ports.count, default=None)
        return best if best is not None and ports.count(best) >= 2 else None

    def replicated(self) -> int:
        """Wait (up to 2 s) until the replica has everything the master acknowledged; returns
        how many replicas confirmed (Redis's WAIT)."""
        assert self.master is not None
        client = self.master.client()
        try:
            return int(client.wait(1, 2000))
        finally:
            client.close()

    def wait_for_new_master(self, old_port: int, timeout: float = 15.0) -> int:
        """Wait until a majority of Sentinels name a master other than ``old_port``."""
        self._wait(timeout, lambda: self.master_port() not in (None, old_port), "a new master")
        port = self.master_port()
        assert port is not None
        return port

    def kill_master(self) -> int:
        """SIGKILL the master (its sockets close at once); returns its port."""
        assert self.master is not None
        port = self.master.port
        self.master.kill()
        return port

    def freeze_master(self) -> int:
        """SIGSTOP the master: it stops answering but its sockets stay open, as behind a
        network partition; returns its port (``stop()`` kills it later)."""
        assert self.master is not None and self.master.proc is not None
        self.master.proc.send_signal(signal.SIGSTOP)
        return self.master.port

    def _wait(self, timeout: float, ready: Any, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(redis.RedisError, OSError):  # not up yet: ask again
                if ready():
                    return
            if time.monotonic() > deadline:
                logs = [p.log for p in (self.master, self.replica, *self.sentinels) if p]
                raise RuntimeError(f"not ready after {timeout:.0f}s: {what}\n{log_tail(*logs)}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Kill every process and remove the directory. Idempotent."""
        for process in (*self.sentinels, self.replica, self.master):
            if process is not None:
                process.kill()
        self.sentinels = []
        self.master = self.replica = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
        atexit.unregister(self.stop)
