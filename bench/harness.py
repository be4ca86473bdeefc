"""The parts every benchmark row uses: a private deployment, wrk, and side-by-side rounds.

A ``Deployment`` is what production runs, on private instances started here: PostgreSQL,
redis-server, granian (2 workers, blocking threads) serving ``webapp:create_app()``, an RQ worker
and the cron process. ``Wrk`` drives load from a separate process on loopback and parses
wrk's report. ``alternate`` runs two (or more) measurements in turns, so a slow moment of the
shared machine hits both sides of a ratio alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.services import free_port  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef0123456789abcdef"  # noqa: S105 (throw-away)
WEB_WORKERS = 2
WEB_THREADS = 4


def production_env(redis_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """A production-mode node's environment: default argon2 and cache settings."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LIMEN_")},
        "LIMEN_ENV": "production",
        "LIMEN_SECRET_KEY": SECRET,
        "LIMEN_REDIS_URL": redis_url,
        "LIMEN_DATABASE_URL": database_url,
        "LIMEN_COOKIE_SECURE": "false",
        # The peers have no rate limits; Limen's would (rightly) stop a load generator.
        "LIMEN_RATELIMIT_ENABLED": "false",
        "LIMEN_LOG_FORMAT": "json",
        "LIMEN_LOG_LEVEL": "INFO",
    }
    env.update(extra)
    return env


class Deployment:
    """granian + (optionally) the RQ worker and cron, against a database and Redis."""

    def __init__(self, name: str, env: dict[str, str], tmp: Path) -> None:
        self.name, self.env, self.tmp = name, env, tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env["LIMEN_ISSUER"] = self.url
        self.web: subprocess.Popen[bytes] | None = None
        self.others: list[subprocess.Popen[bytes]] = []
        self.access_log = tmp / f"{name}-web.log"  # Limen's JSON request log (stdout)

    def python(self, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
        out = subprocess.run(  # noqa: S603 (our own interpreter and modules)
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def _spawn(self, log_name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.tmp / f"{self.name}-{log_name}.log").open("ab") as log:
            return subprocess.Popen(  # noqa: S603 (our own interpreter and modules)
                [sys.executable, *args],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def migrate(self) -> None:
        self.python("-m", "webapp.cli", "db", "upgrade")

    def start_web(self, *, access_log: bool = False) -> None:
        """granian, as ``limen-server run`` serves; ``access_log`` is kept for callers: Limen's
        own JSON request log (always on) says which worker (pid) answered each request id."""
        args = [
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(WEB_WORKERS),
            "--blocking-threads",
            str(WEB_THREADS),
            "--backlog",
            "2048",
            "--no-ws",
        ]
        self.web = self._spawn("web", *args, "webapp:create_app")
        wait_ready(f"{self.url}/healthz", what=f"{self.name} granian")

    def stop_web(self) -> None:
        if self.web is not None:
            stop_process(self.web)
            self.web = None

    def start_jobs(self) -> None:
        self.others.append(self._spawn("worker", "-m", "webapp.jobs", "worker"))
        self.others.append(self._spawn("cron", "-m", "webapp.jobs", "cron"))

    def pids_by_request(self) -> dict[str, str]:
        """Which worker (pid) answered each request id, from Limen's JSON request log."""
        out = {}
        for line in self.access_log.read_text(errors="replace").splitlines():
            if '"request"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == "request" and entry.get("request_id"):
                out[entry["request_id"]] = str(entry.get("pid"))
        return out

    def worker_pids(self) -> list[int]:
        assert self.web is not None
        out = subprocess.run(  # noqa: S603 (procps, fixed arguments)
            [shutil.which("pgrep") or "/usr/bin/pgrep", "-P", str(self.web.pid)],
            capture_output=True,
            text=True,
            check=False,
        )
        return sorted(int(p) for p in out.stdout.split())

    def stop(self) -> None:
        self.stop_web()
        for proc in self.others:
            stop_process(proc)
        self.others = []


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_ready(url: str, *, what: str, timeout: float = 60, **kwargs: Any) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2, **kwargs).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up at {url}")
        time.sleep(0.2)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


# -- wrk -------------------------------------------------------------------------------------
@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int

    @property
    def failed(self) -> int:
        return self.non_2xx + self.errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    if not (done and rps and p50 and p99):
        raise RuntimeError(f"could not read wrk's report:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        requests=int(done.group(1)),
        seconds=_ms(done.group(2) + done.group(3)) / 1000,
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(x) for x in errors.groups()) if errors else 0,
    )


@dataclass
class Wrk:
    """One load shape: a URL and a Lua script (wrk's only way to vary requests)."""

    url: str
    lua: str
    connections: int = 16
    threads: int = 1
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="limen-wrk-")))

    def start(self, seconds: float) -> subprocess.Popen[str]:
        script = self.workdir / f"s{abs(hash(self.lua))}.lua"
        script.write_text(self.lua)
        return subprocess.Popen(  # noqa: S603 (wrk from the system, fixed arguments)
            [
                shutil.which("wrk") or "wrk",
                f"-t{self.threads}",
                f"-c{self.connections}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "--timeout",
                "10s",
                "-s",
                str(script),
                self.url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.workdir,
        )

    def run(self, seconds: float) -> WrkResult:
        proc = self.start(seconds)
        out, _ = proc.communicate(timeout=seconds + 60)
        return parse_wrk(out)


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Every RECYCLE-th request on a connection asks the server to close it: wrk opens its
# connections in one burst, and whichever gunicorn worker wakes first accepts most of them;
# reconnecting now and then lets the less busy worker pick up its share (load balancers and
# real clients recycle connections too). 1 request in RECYCLE pays a TCP handshake.
RECYCLE = 100


def _lua(method: str, headers: dict[str, str], body: str | None, rotate: str = "") -> str:
    fixed = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
    return f"""
{rotate}
local n = 0
request = function()
  n = n + 1
  local h = {{{fixed}}}
  if rotated_header then h[rotated_header] = rotated_value() end
  if n % {RECYCLE} == 0 then h["Connection"] = "close" end
  return wrk.format({lua_string(method)}, nil, h, {lua_string(body) if body else "nil"})
end
"""


def get_lua(headers: dict[str, str]) -> str:
    """A GET with fixed headers (the same credential on every request)."""
    return _lua("GET", headers, None)


def rotating_lua(header: str, prefix: str, values_file: Path) -> str:
    """A GET whose ``header`` is ``prefix`` + the next line of ``values_file``, in turn."""
    rotate = f"""
local values = {{}}
for line in io.lines({lua_string(str(values_file))}) do values[#values + 1] = line end
local i = 0
rotated_header = {lua_string(header)}
rotated_value = function()
  i = i + 1
  if i > #values then i = 1 end
  return {lua_string(prefix)} .. values[i]
end
"""
    return _lua("GET", {}, None, rotate)


def post_lua(body: str, headers: dict[str, str]) -> str:
    return _lua("POST", headers, body)


# -- side by side ----------------------------------------------------------------------------
def alternate(runs: dict[str, Callable[[], WrkResult]], rounds: int) -> dict[str, list[WrkResult]]:
    """Run each measurement once per round, in turns (A B A B …); results per name."""
    out: dict[str, list[WrkResult]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            out[name].append(run())
    return out


def median_rps(results: Sequence[WrkResult]) -> float:
    return statistics.median(r.rps for r in results)


def median_of(results: Sequence[WrkResult], attr: str) -> float:
    return float(statistics.median(getattr(r, attr) for r in results))


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]
