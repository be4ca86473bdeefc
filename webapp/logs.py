"""Structured logs (structlog): one JSON line per request with its id, principal and outcome.

Nothing here reads bodies, query strings or credential headers, so no secret can reach a log;
``redact`` is a second line of defence for keys that look secret.

Lines are rendered with orjson and handed to a ``BufferedWriter``: a request appends its line
to an in-memory queue and returns; one background thread per process writes what has queued
every ``LIMEN_LOG_FLUSH_SECONDS`` (sooner when many lines wait) and once more at exit. No
request ever takes a lock, makes a write system call or flushes a stream for its log line.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
import os
import random
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from typing import IO, Any

import orjson
import structlog
from flask import Flask, Response, g, request

from webapp.identity.crypto import UniqueIds

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
SECRET_KEYS = re.compile(r"(password|secret|token|authorization|cookie|api_key|code)$", re.I)
WAKE_AT_LINES = 2048  # this many lines waiting wakes the writer before its interval


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if SECRET_KEYS.search(key) and key not in ("event",):
            event[key] = "[redacted]"
    return event


class BufferedWriter:
    """Log lines queued in memory and written to ``stream`` by one background thread.

    ``write`` is a ``deque.append`` (atomic under the GIL): no lock, no system call. The
    writer thread starts on the first line in each process (a forked worker starts its own)
    and ``flush`` also runs at interpreter exit, so a line is never lost to buffering.
    """

    def __init__(self, stream: IO[str], interval: float = 0.5) -> None:
        self.stream = stream
        self.interval = interval
        self._lines: deque[bytes] = deque()
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()  # the writer thread and exit-time flushes only
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        atexit.register(self.flush)

    def write(self, line: bytes | str) -> None:
        """Queue one line (without its newline)."""
        self._lines.append(line if isinstance(line, bytes) else line.encode())
        if self._thread is None or self._pid != os.getpid():
            self._start()
        elif len(self._lines) >= WAKE_AT_LINES:
            self._wake.set()

    def _start(self) -> None:
        with self._flush_lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._flush_lock = threading.Lock()  # a lock held at fork time stays held
            self._thread = threading.Thread(target=self._run, name="limen-log", daemon=True)
            self._thread.start()
        # A worker process run by multiprocessing (granian's workers) ends with os._exit,
        # which skips atexit: its exit-time finalizers are where such a process flushes.
        multiprocessing.util.Finalize(self, self.flush, exitpriority=100)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Write every queued line now (the writer thread, exit, and tests call this)."""
        with self._flush_lock:
            chunk: list[bytes] = []
            pop = self._lines.popleft
            try:
                while True:
                    chunk.append(pop())
            except IndexError:
                pass
            if not chunk:
                return
            chunk.append(b"")
            data = b"\n".join(chunk)
            try:
                target = getattr(self.stream, "buffer", None)
                if target is not None:
                    self.stream.flush()  # text already written by others goes first
                    target.write(data)
                    target.flush()
                else:
                    self.stream.write(data.decode())
                    self.stream.flush()
            except (OSError, ValueError):  # stream closed (interpreter teardown): nowhere to go
                pass


class BufferedLogger:
    """structlog's logger for the ``BufferedWriter``: every level method queues the line."""

    def __init__(self, writer: BufferedWriter) -> None:
        self._writer = writer

    def msg(self, message: bytes | str) -> None:
        self._writer.write(message)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


_writer: BufferedWriter | None = None


def writer() -> BufferedWriter:
    """This process's log writer (on stderr), created on first use."""
    global _writer
    if _writer is None or _writer.stream is not sys.stderr:
        _writer = BufferedWriter(sys.stderr)
    return _writer


def _orjson_dumps(event: Any, **kw: Any) -> bytes:
    return orjson.dumps(event, default=kw.get("default"))


_json_format = True


def configure(fmt: str, level: str, flush_seconds: float = 0.5) -> None:
    """Logging configured once at start-up: JSON (orjson) through the buffered writer, or the
    console renderer for development."""
    global _json_format
    _json_format = fmt == "json"
    out = writer()
    out.interval = flush_seconds
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=lambda *_: BufferedLogger(out),
        cache_logger_on_first_use=False,  # create_app may run more than once in a process
    )


def outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403, 423, 429):
        return "denied"
    return "client_error" if status < 500 else "server_error"


# Request ids: unique per process without a random draw (or a uuid4) per request.
request_ids = UniqueIds(prefix_bytes=6, sep="-")


def _sampler(rate: float) -> Callable[[int], bool]:
    """Whether to log a response of this status: errors (>= 400) always, successes at
    ``rate`` (1.0 logs every one)."""
    if rate >= 1.0:
        return lambda _status: True
    draw = random.random  # a sampling coin, not a secret

    return lambda status: status >= 400 or draw() < rate


def refusal_line(environ: dict[str, Any], status: int, ip: str) -> str:
    """Log the request line of a request refused before Flask (``ratelimits.FloodGate``);
    its request id."""
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    fields = {
        "event": "request",
        "request_id": incoming if REQUEST_ID.match(incoming) else request_ids.next(),
        "method": environ.get("REQUEST_METHOD"),
        "path": environ.get("PATH_INFO"),
        "status": status,
        "outcome": outcome(status),
        "refused_early": True,
        "ip": ip,
        "pid": os.getpid(),
        "level": "info",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    if _json_format:
        writer().write(orjson.dumps(fields))
    else:
        structlog.get_logger("limen.http").info("request", **fields)
    return str(fields["request_id"])


def init_app(app: Flask, *, success_sample: float = 1.0) -> None:
    log = structlog.get_logger("limen.http")
    json_lines = app.extensions["limen.settings"].effective_log_format == "json"
    sampled = _sampler(success_sample)
    out = writer()
    pid = os.getpid

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.match(incoming) else request_ids.next()
        g.started = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id") or request_ids.next()
        response.headers["X-Request-ID"] = request_id
        status = response.status_code
        if not sampled(status):
            return response
        principal = g.get("principal")
        now = time.perf_counter()
        fields = {
            "method": request.method,
            "path": request.path,
            "route": request.url_rule.rule if request.url_rule else None,
            "status": status,
            "outcome": outcome(status),
            "latency_ms": round((now - g.get("started", now)) * 1000, 2),
            "sub": principal.sub if principal else None,
            "client_id": principal.client_id if principal else None,
            "ip": request.remote_addr,
            "pid": pid(),  # which worker answered (benchmarks attribute refusals by it)
        }
        if json_lines:  # the hot path: one orjson call, no processor chain
            fields.update(
                event="request",
                request_id=request_id,
                level="info",
                timestamp=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            )
            out.write(orjson.dumps(fields))
        else:
            log.info("request", **fields)
        return response
