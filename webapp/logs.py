"""Structured logs (structlog): one JSON line per request with its id, principal and outcome.

Nothing here reads bodies, query strings or credential headers, so no secret can reach a log;
``redact`` is a second line of defence for keys that look secret.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog
from flask import Flask, Response, g, request

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
SECRET_KEYS = re.compile(r"(password|secret|token|authorization|cookie|api_key|code)$", re.I)


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if SECRET_KEYS.search(key) and key not in ("event",):
            event[key] = "[redacted]"
    return event


def configure(fmt: str, level: str) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
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
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403, 423, 429):
        return "denied"
    return "client_error" if status < 500 else "server_error"


def init_app(app: Flask) -> None:
    log = structlog.get_logger("limen.http")

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-ID"] = request_id
        principal = g.get("principal")
        log.info(
            "request",
            method=request.method,
            path=request.path,
            route=request.url_rule.rule if request.url_rule else None,
            status=response.status_code,
            outcome=outcome(response.status_code),
            latency_ms=round(
                (time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2
            ),
            sub=principal.sub if principal else None,
            client_id=principal.client_id if principal else None,
            ip=request.remote_addr,
            pid=os.getpid(),  # which worker answered (benchmarks attribute refusals by it)
        )
        return response
