"""Background jobs on RQ: key rotation, credential rotation, back-channel logout, purges.

The small face other code uses:

- ``init_app(app)`` — in ``create_app``: revocations enqueue their back-channel logouts at
  once, and each web process listens for key-ring news on Redis pub/sub.
- ``enqueue_key_rotation(now, actor)`` — the portal's and CLI's "rotate signing key".
- ``overview()`` — plain dicts for the jobs page; ``run_job``, ``retry_run``, ``get_run``.
- ``start_dev_runner(app)`` — the schedule and a worker in a thread of ``limen-server dev``.

Jobs hold no auth logic: each calls ``webapp.identity`` services, is idempotent and is safe to
run twice or on several workers at once.
"""

from __future__ import annotations

from flask import Flask

from webapp.settings import JobSettings

from . import mail  # noqa: F401  (the mail jobs register in TASKS with the others)
from .actions import (
    enqueue_key_rotation,
    get_run,
    overview,
    request_mail,
    retry_run,
    run_inline,
    run_job,
)
from .runtime import JobsRuntime, runtime
from .worker import start_dev_runner

__all__ = [
    "JobsRuntime",
    "enqueue_key_rotation",
    "get_run",
    "init_app",
    "overview",
    "request_mail",
    "retry_run",
    "run_inline",
    "run_job",
    "runtime",
    "start_dev_runner",
]


def init_app(app: Flask, settings: JobSettings | None = None) -> JobsRuntime:
    """Wire a web application to the jobs (idempotent); ``settings`` default to LIMEN_*."""
    rt = runtime(app, settings)
    if not app.extensions.get("limen.jobs.wired"):
        app.extensions["limen.jobs.wired"] = True
        rt.identity.revocation.add_listener(rt.on_session_revoked)
        rt.identity.outbox.add_listener(rt.on_mail_owed)
        app.before_request(rt.ensure_listener)
    return rt
