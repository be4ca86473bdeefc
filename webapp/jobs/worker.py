"""Running the jobs: the RQ worker (`limen-server worker`), an in-thread drain for the dev
server and tests, and the bookkeeping a worker does when a work-horse dies without a word."""

from __future__ import annotations

import os
import threading
from typing import Any

import structlog
from rq import Queue, SimpleWorker, Worker
from rq.job import Job
from rq.scheduler import RQScheduler
from rq.timeouts import TimerDeathPenalty

from . import runs
from .cron import Cron
from .runtime import JobsRuntime, serving, serving_runtime

log = structlog.get_logger("limen.jobs")


class _RecordsDeadHorses:
    """A horse killed mid-job (OOM, SIGKILL) never reports; the worker records it instead."""

    def handle_job_failure(
        self,
        job: Job,
        queue: Queue,
        started_job_registry: Any = None,
        exc_string: str = "",
        execution: Any = None,
    ) -> None:
        final = not job.should_retry
        rt = serving_runtime()
        now = rt.identity.clock()
        runs.failed(
            rt.engine, job.id, exc_string or "failed", final=final, now=now, only_running=True
        )
        if "terminated unexpectedly" in exc_string:
            log.error("job.killed", run_id=job.id, job=job.description, will_retry=not final)
        super().handle_job_failure(  # type: ignore[misc]
            job,
            queue,
            started_job_registry=started_job_registry,
            exc_string=exc_string,
            execution=execution,
        )


class LimenWorker(_RecordsDeadHorses, Worker):
    """Forks a work-horse per job: a crash or leak in one job cannot take the worker down."""


class LimenSimpleWorker(_RecordsDeadHorses, SimpleWorker):
    """Runs jobs in this process (`limen-server worker --simple`)."""


class ThreadWorker(LimenSimpleWorker):
    """Runs jobs in any thread: timeouts by timer, not by SIGALRM (main thread only)."""

    death_penalty_class = TimerDeathPenalty


def run_worker(rt: JobsRuntime, *, burst: bool = False, simple: bool = False) -> bool:
    """`limen-server worker`: every Limen queue, with RQ's scheduler for retries' back-off."""
    connection = rt.worker_connection()
    queue = Queue(rt.settings.jobs_queue, connection=connection)
    engine = rt.engine
    # A forked horse must not reuse the parent's pooled database connections.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    worker_class = LimenSimpleWorker if simple else LimenWorker
    worker = worker_class([queue], connection=connection)
    log.info("worker.started", queue=queue.name, burst=burst, worker=worker.name)
    with serving(rt):  # the jobs and their forked work-horses run on rt
        return worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")


def run_pending(rt: JobsRuntime, *, max_jobs: int = 10_000) -> int:
    """Run every queued job (and every retry whose back-off is over) in this thread; how many.

    The dev server's runner and the tests use it: the same RQ jobs, registries and retries as
    `limen-server worker`, without a fork, a blocking dequeue or signal handlers.
    """
    connection = rt.redis
    queue = Queue(rt.settings.jobs_queue, connection=connection)
    worker = ThreadWorker([queue], connection=connection)
    # One caller at a time drains (the dev thread, a test), so RQ's scheduler lock (a Lua
    # script the dev stand-in cannot run) is not needed to move due retries onto the queue.
    scheduler = RQScheduler([queue], connection=connection)
    scheduler.prepare_registries([queue.name])
    done = 0
    with rt.scope(), serving(rt):
        while done < max_jobs:
            scheduler.enqueue_scheduled_jobs()
            found = Queue.dequeue_any([queue], None, connection=connection)
            if found is None:
                break
            job, job_queue = found
            worker.execute_job(job, job_queue)
            done += 1
    return done


class DevRunner(threading.Thread):
    """`limen-server dev`: the schedule and the jobs in one background thread, every second."""

    def __init__(self, rt: JobsRuntime, tick: float = 1.0) -> None:
        super().__init__(name="limen-dev-jobs", daemon=True)
        self.rt = rt
        self.tick = tick
        self._stop_event = threading.Event()
        self.cron = Cron(rt)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                with self.rt.scope():
                    self.cron.tick()
                run_pending(self.rt)
            except Exception:  # keep the dev server's jobs alive; the error is in the log
                log.exception("dev_runner.error")
            self._stop_event.wait(self.tick)


def start_dev_runner(rt: JobsRuntime) -> DevRunner:
    """Start the in-process schedule + worker of `limen-server dev` (a daemon thread)."""
    runner = DevRunner(rt)
    runner.start()
    return runner
