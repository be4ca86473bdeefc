"""Mail leaves through RQ jobs to a real SMTP server: headers, both bodies, links from the
issuer, content dropped once sent; STARTTLS, implicit TLS and AUTH; a server that is down
delays the mail (retried, visible on the jobs page) and never loses it."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.integration.jobs.conftest import JobsHarness
from tests.support.services import free_port
from tests.support.smtp import SmtpSink, html_of, link_in, self_signed, text_of
from webapp.extensions import db
from webapp.jobs.runs import get
from webapp.models import EmailToken, JobRun, MailMessage


def _send_verification(harness: JobsHarness, email: str) -> str:
    with harness.app.app_context():
        user = harness.user(email)
        harness.identity.account_mail.send_verification(user)
        db.session.commit()
        return user.id


def test_a_mail_arrives_with_the_right_headers_and_a_link_from_the_issuer(
    harness: JobsHarness, smtp: SmtpSink
) -> None:
    _send_verification(harness, "ada@example.com")
    assert harness.run_jobs() == 1
    [mail] = smtp.wait_for("ada@example.com")
    assert mail["To"] == "ada@example.com"
    assert mail["From"] == "Limen <no-reply@127.0.0.1>"
    assert mail["Subject"] == "Confirm your email address for Limen"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"].endswith("@127.0.0.1>")
    assert mail.get_content_type() == "multipart/alternative"
    link = link_in(mail)
    assert link.startswith("http://127.0.0.1:5999/email/verify?token=limen_ml_")
    assert link in html_of(mail).replace("&amp;", "&")
    with harness.app.app_context():
        row = db.session.scalar(select(MailMessage))
        assert row is not None and row.status == "sent" and row.content_encrypted is None
        token = link.split("token=", 1)[1]
        stored = db.session.scalar(select(EmailToken))
        assert stored is not None and token not in stored.token_hash  # only a digest is kept
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_the_mail_content_is_encrypted_at_rest_until_sent(harness: JobsHarness) -> None:
    _send_verification(harness, "bo@example.com")
    with harness.app.app_context():
        row = db.session.scalar(select(MailMessage))
        assert row is not None and row.status == "pending"
        assert row.content_encrypted is not None
        assert "limen_ml_" not in row.content_encrypted and "verify" not in row.content_encrypted


def test_a_mail_server_that_is_down_delays_mail_and_the_retry_delivers_it(
    mail_harness: Callable[..., JobsHarness],
) -> None:
    port = free_port()
    harness = mail_harness(f"smtp://127.0.0.1:{port}?tls=none")
    _send_verification(harness, "cy@example.com")
    harness.run_jobs()  # the first attempt fails: nothing listens
    with harness.app.app_context():
        run = db.session.scalar(select(JobRun).where(JobRun.job == "mail.send"))
        assert run is not None and run.status == "retrying" and run.attempts == 1
        assert "ConnectionRefusedError" in (run.error or "")
        row = db.session.scalar(select(MailMessage))
        assert row is not None and row.status == "retrying" and row.content_encrypted
        run_id = run.id
    with SmtpSink(port=port) as sink:
        time.sleep(1.1)  # RQ's back-off (1 s here) is over
        harness.run_jobs()
        [mail] = sink.wait_for("cy@example.com")
    assert "limen_ml_" in text_of(mail)
    with harness.app.app_context():
        run = get(harness.jobs.engine, run_id)
        assert run is not None and run.status == "succeeded" and run.attempts == 2
        row = db.session.scalar(select(MailMessage))
        assert row is not None and row.status == "sent"


def test_a_mail_that_fails_every_attempt_is_kept_failed_without_its_content(
    mail_harness: Callable[..., JobsHarness],
) -> None:
    harness = mail_harness(f"smtp://127.0.0.1:{free_port()}?tls=none")
    _send_verification(harness, "di@example.com")
    for _ in range(3):
        harness.run_jobs()
        time.sleep(1.1)
    with harness.app.app_context():
        row = db.session.scalar(select(MailMessage))
        assert row is not None and row.status == "failed" and row.attempts == 3
        assert row.content_encrypted is None and "Connection" in (row.last_error or "")


@pytest.fixture
def trusted_cert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A self-signed certificate the client trusts (through SSL_CERT_FILE)."""
    directory = self_signed(tmp_path / "tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(directory / "cert.pem"))
    return directory


def test_starttls_with_authentication(
    mail_harness: Callable[..., JobsHarness], trusted_cert: Path
) -> None:
    with SmtpSink(tls=trusted_cert, auth=("limen", "p@ss word")) as sink:
        harness = mail_harness(sink.url(userinfo="limen:p%40ss%20word", query=""))
        _send_verification(harness, "ed@example.com")
        harness.run_jobs()
        sink.wait_for("ed@example.com")
        assert sink.logins == ["limen"]


def test_implicit_tls(mail_harness: Callable[..., JobsHarness], trusted_cert: Path) -> None:
    with SmtpSink(tls=trusted_cert, implicit=True) as sink:
        harness = mail_harness(sink.url("smtps", query=""))
        _send_verification(harness, "fay@example.com")
        harness.run_jobs()
        sink.wait_for("fay@example.com")


def test_smtp_without_starttls_is_refused_before_any_password_is_sent(
    mail_harness: Callable[..., JobsHarness], smtp: SmtpSink
) -> None:
    harness = mail_harness(smtp.url(userinfo="limen:secret", query=""))
    _send_verification(harness, "gus@example.com")
    harness.run_jobs()
    assert smtp.received() == [] and smtp.logins == []
    with harness.app.app_context():
        row = db.session.scalar(select(MailMessage))
        assert row is not None and row.status == "retrying"
        assert "offers no STARTTLS" in (row.last_error or "")
        run = db.session.scalar(select(JobRun).where(JobRun.job == "mail.send"))
        assert run is not None and "secret" not in (run.error or "")


def test_production_without_a_mail_server_sends_nothing_and_owes_nothing(
    mail_harness: Callable[..., JobsHarness],
) -> None:
    harness = mail_harness(None)
    _send_verification(harness, "hal@example.com")
    assert harness.run_jobs() == 0
    with harness.app.app_context():
        row = db.session.scalar(select(MailMessage))
        assert row is not None and row.status == "dropped" and row.content_encrypted is None


def test_the_sweep_sends_mail_whose_enqueue_was_missed(
    make_harness: Callable[..., JobsHarness], smtp: SmtpSink
) -> None:
    # Not wired to enqueue on commit: as if Redis had refused the enqueue.
    harness = make_harness(mail={"smtp_url": smtp.url()})
    _send_verification(harness, "ivy@example.com")
    assert harness.run_jobs() == 0
    harness.clock.advance(31)
    assert harness.run("mail.sweep") == {"enqueued": 1}
    harness.run_jobs()
    smtp.wait_for("ivy@example.com")
