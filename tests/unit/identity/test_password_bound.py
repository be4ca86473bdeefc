"""Password checks are bounded: a few at once, at a lower CPU priority, a short queue, then a
clear "busy" refusal rather than a request thread held hostage."""

from __future__ import annotations

import os
import threading

import pytest

from webapp.identity.errors import Busy
from webapp.identity.passwords import Passwords


def test_past_the_queue_a_check_is_refused_at_once_and_the_bound_recovers():
    passwords = Passwords(1, 8192, 1, concurrency=1, nice=0, queue=0)
    stored = passwords.hash("correct horse battery staple")
    release, started = threading.Event(), threading.Event()

    def slow_check() -> bool:  # a password check that takes as long as we say
        started.set()
        return release.wait(10)

    results: list[bool] = []
    holder = threading.Thread(target=lambda: results.append(passwords._run(slow_check)))
    holder.start()
    assert started.wait(10)
    with pytest.raises(Busy) as refused:
        passwords.verify(stored, "correct horse battery staple")
    assert refused.value.retry_after == 1 and "retry" in refused.value.detail
    release.set()
    holder.join(10)
    assert results == [True]
    assert passwords.verify(stored, "correct horse battery staple")  # the slot came back


def test_hashing_threads_run_at_the_lower_priority():
    passwords = Passwords(1, 8192, 1, concurrency=1, nice=7)
    seen: list[int] = []
    passwords._run(lambda: seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
    assert seen == [os.getpriority(os.PRIO_PROCESS, 0) + 7] or seen == [19]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) != seen[0]
