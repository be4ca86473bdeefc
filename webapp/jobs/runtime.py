"""One application's jobs runtime: the queue, enqueueing (with bookkeeping), pub/sub news.

Built on demand by ``runtime(app)``; ``init_app`` additionally hooks revocation events and the
per-process invalidation listener into a web application.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import redis
import structlog
from flask import Flask
from rq import Queue, Retry

from webapp.identity import Identity
from webapp.identity.key_lifecycle import LifecyclePolicy
from webapp.identity.purge import Retention
from webapp.identity.revocation import SessionRevoked
from webapp.identity.verify_cache import INVALIDATION_CHANNEL
from webapp.settings import JobSettings

from . import runs

TASK = "webapp.jobs.tasks.execute"
Task = Callable[..., dict[str, Any]]
# Every job by name; filled by the ``@job`` decorators in ``tasks`` (imported with the package).
TASKS: dict[str, Task] = {}
log = structlog.get_logger("limen.jobs")


def job(name: str) -> Callable[[Task], Task]:
    """Register a job function under ``name`` (what is enqueued, scheduled and recorded)."""

    def register(task: Task) -> Task:
        TASKS[name] = task
        return task

    return register


class JobsRuntime:
    def __init__(self, app: Flask, settings: JobSettings) -> None:
        self.app = app
        self.redis = cast(redis.Redis, app.extensions["limen.redis"])
        self.configure(settings)
        self._listener: InvalidationListener | None = None
        self._listener_lock = threading.Lock()

    def configure(self, settings: JobSettings) -> None:
        """Use these settings from now on (the queue follows the queue name)."""
        self.settings = settings
        self.queue = Queue(
            settings.jobs_queue,
            connection=self.redis,
            default_timeout=settings.job_timeout_seconds,
        )

    @property
    def identity(self) -> Identity:
        return cast(Identity, self.app.extensions["limen.identity"])

    # -- policies from the jobs' settings -------------------------------------------------
    def key_policy(self) -> LifecyclePolicy:
        return LifecyclePolicy(
            rotation_days=self.settings.key_rotation_days,
            publish_seconds=self.settings.key_publish_seconds,
            access_token_ttl=self.identity.settings.access_token_ttl,
            retire_margin_seconds=self.settings.key_retire_margin_seconds,
        )

    def retention(self) -> Retention:
        return Retention(
            audit_days=self.settings.audit_retention_days,
            job_runs_days=self.settings.job_runs_retention_days,
        )

    def client_secret_overlap(self) -> timedelta:
        return timedelta(seconds=self.settings.client_secret_overlap_seconds)

    def worker_connection(self) -> redis.Redis:
        """A connection for blocking dequeues (no short socket timeout); dev: the stand-in."""
        url = self.app.extensions["limen.settings"].redis_url
        if not url:
            return self.redis
        return redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)

    def retry(self) -> Retry | None:
        intervals = self.settings.job_retry_intervals
        return Retry(max=len(intervals), interval=intervals) if intervals else None

    # -- enqueueing --------------------------------------------------------------------------
    def enqueue(
        self,
        name: str,
        *,
        trigger: str,
        params: dict[str, Any] | None = None,
        actor: str | None = None,
        at_front: bool = False,
        run_id: str | None = None,
    ) -> str:
        """Record a run and put its job on the queue; returns the run id (= RQ job id).

        ``run_id`` (from ``runs.run_id_for``) lets a caller name the run before it enqueues it,
        when the enqueueing waits for its own unit of work to commit."""
        if name not in TASKS:
            raise KeyError(f"unknown job {name!r}; known: {sorted(TASKS)}")
        params = params or {}
        run_id = run_id or runs.run_id_for(name)
        now = self.identity.clock()
        runs.enqueued(run_id, name, trigger=trigger, params=params, actor=actor, now=now)
        try:
            self.queue.enqueue_call(
                TASK,
                args=(name,),
                kwargs=params,
                job_id=run_id,
                description=name,
                retry=self.retry(),
                at_front=at_front,
                result_ttl=86_400,
                failure_ttl=self.settings.failed_job_ttl_days * 86_400,
                meta={"trigger": trigger, "actor": actor},
            )
        except redis.RedisError as exc:
            runs.enqueue_failed(run_id, repr(exc), now)
            raise
        log.info("job.enqueued", job=name, run_id=run_id, trigger=trigger, actor=actor)
        return run_id

    # -- news for every process --------------------------------------------------------------
    def publish(self, kind: str, **data: Any) -> None:
        """Tell every process (web workers, job workers) that something they cache changed."""
        self.redis.publish(INVALIDATION_CHANNEL, json.dumps({"kind": kind, **data}))

    def on_session_revoked(self, event: SessionRevoked) -> None:
        """Send the back-channel logouts a revocation owes, now (the sweep is the safety net)."""
        for delivery in event.deliveries:
            self.enqueue(
                "backchannel.deliver",
                trigger="event",
                params={"delivery_id": delivery},
                actor="revocation",
            )

    def on_mail_owed(self, message_ids: list[str]) -> None:
        """Send the mails a transaction just committed; if Redis refuses, the sweep will."""
        for message_id in message_ids:
            try:
                self.enqueue(
                    "mail.send", trigger="event", params={"message_id": message_id}, actor="mail"
                )
            except redis.RedisError as exc:
                log.warning("mail.enqueue_failed", message_id=message_id, error=repr(exc))

    def request_mail(self, kind: str, email: str) -> None:
        """A link asked for by address (forgot password, resend): the job decides whether an
        account gets one, so the asker's answer is the same either way."""
        self.enqueue("mail.request", trigger="event", params={"kind": kind, "email": email})

    def ensure_listener(self) -> None:
        """Start this process's invalidation listener if it is not running (after a fork too)."""
        listener = self._listener
        if listener is not None and listener.pid == os.getpid() and listener.is_alive():
            return
        with self._listener_lock:
            listener = self._listener
            if listener is None or listener.pid != os.getpid() or not listener.is_alive():
                self._listener = InvalidationListener(self.redis, self.identity)
                self._listener.start()

    def close(self) -> None:
        """Stop the listener (tests, orderly shutdown)."""
        listener, self._listener = self._listener, None
        if listener is not None and listener.pid == os.getpid():
            listener.stop()


class InvalidationListener(threading.Thread):
    """Subscribes to ``limen:invalidate``; drops this process's key ring and verified
    credentials on news, and confirms verification news to the process that is waiting.

    Messages can be lost (a dropped connection); every (re)subscription therefore invalidates
    too, and the ring re-checks its signer every few seconds regardless (see KeyRing). The
    verification cache is used only while this thread is subscribed and alive: it marks the
    cache live on every turn of its loop, and switches it off when it loses Redis.
    """

    def __init__(self, client: redis.Redis, identity: Identity) -> None:
        super().__init__(name="limen-invalidation", daemon=True)
        self.pid = os.getpid()
        self._redis = client
        self._identity = identity
        self._stop_event = threading.Event()
        self.received = 0

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
        self._identity.verify_cache.mark_down()

    def run(self) -> None:
        cache = self._identity.verify_cache
        while not self._stop_event.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(INVALIDATION_CHANNEL)
                self._identity.keys.invalidate()  # we may have missed news while away
                cache.clear()
                while not self._stop_event.is_set():
                    cache.mark_live()
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._handle(message.get("data"))
            except redis.RedisError as exc:
                cache.mark_down()
                log.warning("invalidation.listener_disconnected", error=repr(exc))
                self._stop_event.wait(1.0)
            finally:
                cache.mark_down()
                pubsub.close()

    def _handle(self, data: Any) -> None:
        try:
            news = json.loads(data)
        except (TypeError, ValueError):
            return
        if not isinstance(news, dict):
            return
        self.received += 1
        kind = news.get("kind")
        if kind == "keys":
            self._identity.keys.invalidate()
            self._identity.verify_cache.clear()  # a revoked key's tokens must fail at once
        elif kind == "verify":
            self._identity.verify_cache.clear()
            self._identity.invalidation.acknowledge(news)


def runtime(app: Flask, settings: JobSettings | None = None) -> JobsRuntime:
    """The application's jobs runtime, built on first use (by default from the jobs section of
    the app's settings)."""
    existing = app.extensions.get("limen.jobs")
    if existing is None:
        existing = app.extensions["limen.jobs"] = JobsRuntime(
            app,
            settings or app.extensions["limen.settings"].jobs,
        )
    elif settings is not None and existing.settings != settings:
        existing.configure(settings)  # explicit settings (tests, embedding) win over LIMEN_*
    return cast(JobsRuntime, existing)
