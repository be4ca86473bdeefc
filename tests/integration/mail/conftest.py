"""An in-process Limen app (the jobs harness: private redis-server, fresh database, a clock the
test moves) whose mail goes to a real SMTP server on loopback, sent by RQ jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.jobs.conftest import JobsHarness, make_harness  # noqa: F401 (fixture)
from tests.support.smtp import SmtpSink


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def mail_harness(
    make_harness: Callable[..., JobsHarness],  # noqa: F811
) -> Callable[..., JobsHarness]:
    """A harness whose mail goes to ``smtp_url``; mails are enqueued when their row commits."""

    def make(smtp_url: str | None, jobs: dict[str, Any] | None = None, **mail: Any) -> JobsHarness:
        return make_harness(
            jobs={"job_retry_intervals": [1, 1], **(jobs or {})},
            wired=True,
            mail={"smtp_url": smtp_url, **mail},
        )

    return make


@pytest.fixture
def harness(mail_harness: Callable[..., JobsHarness], smtp: SmtpSink) -> JobsHarness:
    return mail_harness(smtp.url())
