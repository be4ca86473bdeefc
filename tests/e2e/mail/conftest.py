"""Limen nodes under granian whose mail goes to a real SMTP server on loopback, delivered by a
real `limen-server worker` process on a queue of their own."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.jobs.conftest import JobProcess
from tests.support.live import LiveServer
from tests.support.smtp import SmtpSink


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="module")
def mail_node_factory(
    start_server: Callable[..., LiveServer],
    make_database: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., LiveServer]]:
    """``make(smtp_url, **env)``: a node and its worker (stopped at the end of the module)."""
    workers: list[JobProcess] = []

    def make(smtp_url: str, backend: str = "sqlite", **env: str) -> LiveServer:
        node = start_server(
            make_database(backend),
            LIMEN_SMTP_URL=smtp_url,
            LIMEN_JOBS_QUEUE=f"limen-mail-{secrets.token_hex(4)}",
            LIMEN_JOB_RETRY_INTERVALS="[1, 1]",
            **env,
        )
        log = tmp_path_factory.mktemp("mail-worker") / "worker.log"
        workers.append(JobProcess(("worker",), node.env, log).start())
        return node

    yield make
    for worker in workers:
        worker.stop()


@pytest.fixture(scope="module")
def mail_node(mail_node_factory: Callable[..., LiveServer], smtp: SmtpSink) -> LiveServer:
    return mail_node_factory(smtp.url(), LIMEN_RATELIMIT_FORGOT_PASSWORD="1000/minute")


def form_post(http: Any, path: str, page: str, **data: str) -> Any:
    """POST a portal form with the CSRF token of the page it is on."""
    from tests.support.browser import csrf_from

    return http.post(path, data={"csrf_token": csrf_from(page), **data})
