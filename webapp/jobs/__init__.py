"""Background jobs on RQ: key rotation, credential rotation, back-channel logout, purges.

No web framework: a ``JobsRuntime`` is made of the identity services, a Redis client, a
SQLAlchemy engine and the settings tree. The small face other code uses:

- ``build_runtime(settings)`` — the runtime of the worker, cron and ``rotate-keys`` processes
  (``create_app`` builds the web app's on the app's own identity, Redis and engine).
- ``enqueue_key_rotation(rt, now, actor)`` — the portal's and CLI's "rotate signing key".
- ``overview(rt)`` — plain dicts for the jobs page; ``run_job``, ``retry_run``, ``get_run``.
- ``start_dev_runner(rt)`` — the schedule and a worker in a thread of ``limen-server dev``.

Jobs hold no auth logic: each calls ``webapp.identity`` services, is idempotent and is safe to
run twice or on several workers at once.
"""

from __future__ import annotations

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
from .runtime import JobsRuntime, build_runtime
from .worker import run_pending, start_dev_runner

__all__ = [
    "JobsRuntime",
    "build_runtime",
    "enqueue_key_rotation",
    "get_run",
    "overview",
    "request_mail",
    "retry_run",
    "run_inline",
    "run_job",
    "run_pending",
    "start_dev_runner",
]
