"""An in-process Limen app (the jobs harness: private redis-server, fresh database, a clock the
test moves) whose mail goes to a real SMTP server on loopback, sent by RQ jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.jobs.conftest import JobsHarness, make_harness  # noqa: F401 (fixture)
from tests.support.smtp import SmtpSink
from webapp.jobs import runtime


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
        harness = make_harness(
            jobs={"job_retry_intervals": [1, 1], **(jobs or {})},
            mail={"smtp_url": smtp_url, **mail},
        )
        # The harness swaps in an Identity with its clock after the app was wired: wire it too.
        harness.identity.outbox.add_listener(runtime(harness.app).on_mail_owed)
        harness.identity.revocation.add_listener(runtime(harness.app).on_session_revoked)
        return harness

    return make


@pytest.fixture
def harness(mail_harness: Callable[..., JobsHarness], smtp: SmtpSink) -> JobsHarness:
    return mail_harness(smtp.url())
