"""`limen-server cron`: enqueue each scheduled job once per interval, however many run.

Each firing takes a Redis lock ``SET limen:cron:lock:<job> <who> NX PX <interval>``: the first
cron process to get it enqueues the job, every other one sees the lock and skips, and the lock
expiring is what makes the job due again. Nothing else is shared between cron processes.
"""

from __future__ import annotations

import json
import threading
from typing import Any, cast

import structlog

from . import runs
from .runtime import JobsRuntime

LOCK = "limen:cron:lock:{name}"
LAST = "limen:cron:last:{name}"
log = structlog.get_logger("limen.jobs")


class Cron:
    def __init__(self, rt: JobsRuntime) -> None:
        self.rt = rt
        self.who = runs.worker_name()

    def tick(self) -> list[str]:
        """Fire every job whose interval has passed; the names fired by this process."""
        fired = []
        for name, interval in self.rt.settings.schedule.items():
            key = LOCK.format(name=name)
            now = self.rt.identity.clock()
            token = f"{self.who}@{now.isoformat()}"
            if not self.rt.redis.set(key, token, nx=True, px=interval * 1000):
                continue
            try:
                run_id = self.rt.enqueue(name, trigger="schedule", actor="cron")
            except Exception:
                if self.rt.redis.get(key) == token.encode():
                    self.rt.redis.delete(key)  # let the next tick (anyone's) try again
                log.exception("cron.enqueue_failed", job=name)
                continue
            self.rt.redis.set(
                LAST.format(name=name),
                json.dumps({"at": now.isoformat(), "run_id": run_id, "by": self.who}),
            )
            log.info("cron.fired", job=name, run_id=run_id, interval=interval, by=self.who)
            fired.append(name)
        return fired

    def run(self, stop: threading.Event) -> None:
        log.info("cron.started", by=self.who, schedule=self.rt.settings.schedule)
        for problem in self.rt.settings.problems():
            log.warning("cron.setting_weakens_guarantee", problem=problem)
        while not stop.is_set():
            try:
                with self.rt.scope():
                    self.tick()
            except Exception:  # Redis or the database away: say so, try again next tick
                log.exception("cron.tick_failed")
            stop.wait(self.rt.settings.cron_tick_seconds)
        log.info("cron.stopped", by=self.who)


def schedule_state(rt: JobsRuntime) -> list[dict[str, Any]]:
    """Each scheduled job: its interval, when it last fired (and where), when it is due."""
    out = []
    for name, interval in rt.settings.schedule.items():
        raw = cast(bytes | None, rt.redis.get(LAST.format(name=name)))
        last = json.loads(raw) if raw else {}
        ttl_ms = cast(int, rt.redis.pttl(LOCK.format(name=name)))
        out.append(
            {
                "job": name,
                "interval_seconds": interval,
                "last_fired_at": last.get("at"),
                "last_run_id": last.get("run_id"),
                "last_fired_by": last.get("by"),
                "due_in_seconds": max(0.0, ttl_ms / 1000) if ttl_ms and ttl_ms > 0 else 0.0,
            }
        )
    return out
