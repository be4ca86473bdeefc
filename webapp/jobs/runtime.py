"""A process's jobs runtime: the queue, enqueueing (with bookkeeping), pub/sub news.

Made of plain parts — the identity services, a Redis client, a SQLAlchemy engine and the
settings tree — and no web framework: ``build_runtime(settings)`` makes one for the worker,
cron and ``rotate-keys``; ``create_app`` makes the web app's on the app's own parts.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

import redis
import structlog
from redis.client import PubSub
from rq import Queue, Retry
from sqlalchemy import Engine
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import scoped_session, sessionmaker

from webapp import connections
from webapp.identity import Identity, build_passwords
from webapp.identity.key_lifecycle import LifecyclePolicy
from webapp.identity.purge import Retention
from webapp.identity.revocation import SessionRevoked
from webapp.identity.verify_cache import INVALIDATION_CHANNEL
from webapp.models import utcnow
from webapp.settings import JobSettings, Settings

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
    """The jobs of one process: what it enqueues, and what its worker or cron runs with.

    ``scope`` is entered around each job run and cron tick in this process: nothing for a
    worker (its session is a plain scoped one), an app context in the web app (whose
    Flask-SQLAlchemy session is scoped by it). ``jobs`` defaults to ``settings.jobs``.
    """

    def __init__(
        self,
        *,
        identity: Identity,
        redis_client: redis.Redis,
        engine: Engine,
        settings: Settings,
        jobs: JobSettings | None = None,
        scope: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> None:
        self.identity = identity
        self.redis = redis_client
        self.engine = engine
        self.redis_url = settings.redis_url
        self.scope = scope
        self.configure(jobs or settings.jobs)
        self._wired = False
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

    def wire(self) -> None:
        """Enqueue what revocations and committed mails owe (idempotent): back-channel logouts
        and deliveries leave once their transaction commits."""
        if not self._wired:
            self._wired = True
            self.identity.revocation.add_listener(self.on_session_revoked)
            self.identity.outbox.add_listener(self.on_mail_owed)

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
        if not self.redis_url:
            return self.redis
        return connections.redis_client(self.redis_url, socket_timeout=None)

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
        runs.enqueued(
            self.engine, run_id, name, trigger=trigger, params=params, actor=actor, now=now
        )
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
            runs.enqueue_failed(self.engine, run_id, repr(exc), now)
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

    Messages can be lost (a dropped connection, a Sentinel failover); every (re)subscription
    therefore invalidates too, and the ring re-checks its signer every few seconds regardless
    (see KeyRing). The verification cache is used only while this thread is subscribed and
    alive: it marks the cache live on every turn of its loop, and switches it off when it loses
    Redis. Under Sentinel it also asks, every turn, where the master is now: a subscription
    left on a master that was replaced (a partition the socket did not notice) hears no more
    news, so it counts as lost — the cache is emptied and the listener subscribes again.
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
                    self._check_master(pubsub)
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

    def _check_master(self, pubsub: PubSub) -> None:
        """Raise ConnectionError if Sentinel's master is no longer the one we listen to."""
        master = connections.current_master(self._redis)
        conn = pubsub.connection
        if master is not None and conn is not None and master != (conn.host, conn.port):
            raise redis.ConnectionError(
                f"the Redis master moved to {master[0]}:{master[1]}; subscribing there"
            )

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


def build_runtime(
    settings: Settings,
    *,
    redis_client: redis.Redis | None = None,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> JobsRuntime:
    """The runtime of a worker, cron or command process, built without a web app: its own
    engine and Redis client (unless given), a plain scoped session, and the identity services
    built on them by ``Identity``, the one builder of services."""
    engine = engine or connections.database_engine(settings)
    client = redis_client or connections.redis_client(settings.redis_url)
    session: scoped_session[DbSession] = scoped_session(sessionmaker(bind=engine))
    identity = Identity(
        db=session,  # type: ignore[arg-type]
        redis_client=client,
        settings=settings,
        passwords=build_passwords(settings),
        clock=clock,
    )
    rt = JobsRuntime(identity=identity, redis_client=client, engine=engine, settings=settings)
    rt.wire()
    return rt


_SERVING: ContextVar[JobsRuntime | None] = ContextVar("limen_jobs_runtime", default=None)


@contextmanager
def serving(rt: JobsRuntime) -> Iterator[JobsRuntime]:
    """Jobs RQ runs here (this thread, and a work-horse forked from it) run on ``rt``."""
    token = _SERVING.set(rt)
    try:
        yield rt
    finally:
        _SERVING.reset(token)


def serving_runtime() -> JobsRuntime:
    """The runtime RQ's jobs run on here; outside a worker, an error saying how to start one."""
    rt = _SERVING.get()
    if rt is None:
        raise RuntimeError("Limen jobs run inside a jobs runtime: start `limen-server worker`.")
    return rt
