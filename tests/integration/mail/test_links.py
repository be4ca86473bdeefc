"""Mailed one-time links, through the identity services, with the mail really sent: a link
works once; an expired, reused or tampered link changes nothing; a reset ends every session and
keeps two-step verification; notices go out unless turned off."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from tests.integration.jobs.conftest import JobsHarness
from tests.support.smtp import SmtpSink, link_in, text_of
from webapp.extensions import db
from webapp.identity import RequestMeta
from webapp.identity.delegation import Holder
from webapp.identity.errors import LinkInvalid, MfaRequired, PolicyViolation
from webapp.models import MailMessage, RefreshFamily, User
from webapp.oauth.oidc import user_info

META = RequestMeta(ip="192.0.2.7", user_agent="Firefox/130 (Linux)")
NEW_PASSWORD = "a brand new passphrase"


def _token(link: str) -> str:
    return link.split("token=", 1)[1]


def _verification_link(harness: JobsHarness, smtp: SmtpSink, email: str) -> tuple[str, str]:
    with harness.app.app_context():
        user = harness.user(email)
        harness.identity.account_mail.send_verification(user)
        db.session.commit()
        user_id = user.id
    harness.run_jobs()
    return user_id, _token(link_in(smtp.wait_for(email)[-1]))


def _verified_at(harness: JobsHarness, user_id: str) -> object:
    with harness.app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        return user.email_verified_at


def test_a_verification_link_works_once_and_makes_email_verified_true(
    harness: JobsHarness, smtp: SmtpSink
) -> None:
    user_id, token = _verification_link(harness, smtp, "ada@example.com")
    with harness.app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None and user_info(user, "openid email")["email_verified"] is False
        harness.identity.account_mail.verify(token)
        db.session.commit()  # the test is the boundary of this unit of work
        user = db.session.get(User, user_id)
        assert user is not None and user_info(user, "openid email")["email_verified"] is True
        with pytest.raises(LinkInvalid, match="already used"):
            harness.identity.account_mail.verify(token)


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), "not valid"),
        (lambda t: t[:20], "not valid"),
        (lambda t: "", "not valid"),
        (lambda t: t + "x" * 500, "not valid"),
    ],
)
def test_a_tampered_link_changes_nothing(
    harness: JobsHarness, smtp: SmtpSink, spoil, message
) -> None:
    user_id, token = _verification_link(harness, smtp, "bo@example.com")
    with harness.app.app_context(), pytest.raises(LinkInvalid, match=message):
        harness.identity.account_mail.verify(spoil(token))
        db.session.commit()  # the test is the boundary of this unit of work
    assert _verified_at(harness, user_id) is None
    with harness.app.app_context():  # and the real link still works
        harness.identity.account_mail.verify(token)
        db.session.commit()  # the test is the boundary of this unit of work
    assert _verified_at(harness, user_id) is not None


def test_a_verification_link_expires_after_24_hours(harness: JobsHarness, smtp: SmtpSink) -> None:
    user_id, token = _verification_link(harness, smtp, "cy@example.com")
    harness.clock.advance(24 * 3600 + 1)
    with harness.app.app_context(), pytest.raises(LinkInvalid, match="expired"):
        harness.identity.account_mail.verify(token)
        db.session.commit()  # the test is the boundary of this unit of work
    assert _verified_at(harness, user_id) is None


def test_a_newer_link_replaces_the_older_one(harness: JobsHarness, smtp: SmtpSink) -> None:
    user_id, first = _verification_link(harness, smtp, "di@example.com")
    with harness.app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        harness.identity.account_mail.send_verification(user)
        db.session.commit()
    harness.run_jobs()
    second = _token(link_in(smtp.wait_for("di@example.com", 2)[-1]))
    with harness.app.app_context():
        with pytest.raises(LinkInvalid, match="replaced"):
            harness.identity.account_mail.verify(first)
        harness.identity.account_mail.verify(second)
        db.session.commit()  # the test is the boundary of this unit of work


def _reset_link(harness: JobsHarness, smtp: SmtpSink, email: str, count: int = 1) -> str:
    with harness.app.app_context():
        assert harness.identity.account_mail.request_reset(email) is True
        db.session.commit()  # the test is the boundary of this unit of work
    harness.run_jobs()
    mails = [m for m in smtp.wait_for(email, count) if "password" in m["Subject"].lower()]
    return _token(link_in(mails[-1]))


def test_a_reset_ends_every_session_and_refresh_token_and_notifies_the_owner(
    harness: JobsHarness, smtp: SmtpSink
) -> None:
    with harness.app.app_context():
        user = harness.user("ed@example.com")
        sessions = [harness.login(user), harness.login(user)]
        user_id = user.id
    token = _reset_link(harness, smtp, "ed@example.com")
    with harness.app.app_context():
        harness.identity.account_mail.reset_password(token, NEW_PASSWORD, META)
        db.session.commit()  # the test is the boundary of this unit of work
        for tokens in sessions:
            assert harness.identity.sessions.get(tokens.session_id) is None
        families = db.session.scalars(
            select(RefreshFamily).where(RefreshFamily.user_id == user_id)
        ).all()
        assert families and all(f.revoked_at is not None for f in families)
        signed_in = harness.identity.password_login("ed@example.com", NEW_PASSWORD, META)
        db.session.commit()  # the test is the boundary of this unit of work
        assert signed_in.access_token
        with pytest.raises(LinkInvalid, match="already used"):
            harness.identity.account_mail.reset_password(token, "yet another passphrase", META)
    harness.run_jobs()
    mails = smtp.wait_for("ed@example.com", 3)  # the link, the notice, a new-device notice
    notice = [m for m in mails if m["X-Limen-Mail"] == "notice_password_changed"]
    assert [m["Subject"] for m in notice] == ["Your Limen password was changed"]
    assert "192.0.2.7" in text_of(notice[0]) and "limen_ml_" not in text_of(notice[0])


def test_a_reset_keeps_two_step_verification(harness: JobsHarness, smtp: SmtpSink) -> None:
    with harness.app.app_context():
        user = harness.user("fay@example.com")
        secret, _ = harness.identity.mfa.begin(user)
        harness.identity.mfa.confirm(user, pyotp.TOTP(secret).at(harness.clock()))
        db.session.commit()  # the test is the boundary of this unit of work
    token = _reset_link(harness, smtp, "fay@example.com")
    with harness.app.app_context():
        harness.identity.account_mail.reset_password(token, NEW_PASSWORD, META)
        db.session.commit()  # the test is the boundary of this unit of work
        with pytest.raises(MfaRequired):
            harness.identity.password_login("fay@example.com", NEW_PASSWORD, META)


def test_a_weak_new_password_is_refused_and_the_link_still_works(
    harness: JobsHarness, smtp: SmtpSink
) -> None:
    with harness.app.app_context():
        harness.user("gus@example.com")
    token = _reset_link(harness, smtp, "gus@example.com")
    with harness.app.app_context():
        with pytest.raises(PolicyViolation):
            harness.identity.account_mail.reset_password(token, "short", META)
        harness.identity.account_mail.reset_password(token, NEW_PASSWORD, META)
        db.session.commit()  # the test is the boundary of this unit of work


def test_a_reset_link_expires_after_30_minutes(harness: JobsHarness, smtp: SmtpSink) -> None:
    with harness.app.app_context():
        harness.user("hal@example.com")
    token = _reset_link(harness, smtp, "hal@example.com")
    harness.clock.advance(30 * 60 + 1)
    with harness.app.app_context():
        with pytest.raises(LinkInvalid, match="expired"):
            harness.identity.account_mail.reset_password(token, NEW_PASSWORD, META)
        assert harness.identity.password_login(
            "hal@example.com", "correct horse battery staple", META
        )


def test_a_reset_for_an_unknown_address_sends_nothing(harness: JobsHarness, smtp: SmtpSink) -> None:
    with harness.app.app_context():
        assert harness.identity.account_mail.request_reset("nobody@example.com") is False
        db.session.commit()  # the test is the boundary of this unit of work
        assert db.session.scalar(select(MailMessage)) is None
    assert harness.run_jobs() == 0 and smtp.received() == []


def _notices(harness: JobsHarness, smtp: SmtpSink, email: str) -> list[str]:
    harness.run_jobs()
    return [str(m["X-Limen-Mail"]) for m in smtp.received(email)]


def test_notices_for_a_new_device_mfa_off_and_a_new_api_key(
    harness: JobsHarness, smtp: SmtpSink
) -> None:
    ident = harness.identity
    with harness.app.app_context():
        user_id = harness.user("ivy@example.com").id
        ident.password_login("ivy@example.com", "correct horse battery staple", META)
        db.session.commit()  # the test is the boundary of this unit of work
        ident.password_login("ivy@example.com", "correct horse battery staple", META)
        db.session.commit()  # the test is the boundary of this unit of work
    assert _notices(harness, smtp, "ivy@example.com") == []  # first sign-in, then a known one
    with harness.app.app_context():
        other = RequestMeta(ip="198.51.100.9", user_agent="Safari/17 (iPhone)")
        ident.password_login("ivy@example.com", "correct horse battery staple", other)
        db.session.commit()  # the test is the boundary of this unit of work
        user = db.session.get(User, user_id)
        assert user is not None
        secret, _ = ident.mfa.begin(user)
        totp = pyotp.TOTP(secret)
        ident.mfa.confirm(user, totp.at(harness.clock()))
        db.session.commit()  # the test is the boundary of this unit of work
        ident.mfa.disable(user, totp.at(harness.clock().timestamp() + totp.interval))
        db.session.commit()  # the test is the boundary of this unit of work
        ident.api_keys.create(user, "ci", ["profile"], None, holder=Holder.roles_of(["analyst"]))
        db.session.commit()
    assert _notices(harness, smtp, "ivy@example.com") == [
        "notice_new_device",
        "notice_mfa_disabled",
        "notice_api_key_created",
    ]


def test_a_notice_turned_off_is_not_sent(harness: JobsHarness, smtp: SmtpSink) -> None:
    ident = harness.identity
    with harness.app.app_context():
        user = harness.user("jo@example.com")
        ident.account_mail.set_notices_off(user, {"api_key_created", "bogus"}, META)
        db.session.commit()  # the test is the boundary of this unit of work
        assert user.notices_off == ["api_key_created"]
        ident.api_keys.create(user, "ci", ["profile"], None, holder=Holder.roles_of(["analyst"]))
        db.session.commit()
    assert _notices(harness, smtp, "jo@example.com") == []


def test_the_purge_removes_expired_links_and_old_mail(harness: JobsHarness, smtp: SmtpSink) -> None:
    _verification_link(harness, smtp, "kim@example.com")
    harness.clock.advance(24 * 3600 + 60)  # expired, but within the grace hour
    assert harness.run("purge")["email_tokens"] == 0
    harness.clock.advance(15 * 86400)  # past the job-runs retention (14 days)
    summary = harness.run("purge")
    assert (summary["email_tokens"], summary["mail_messages"]) == (1, 1)


def test_a_rotated_key_is_no_new_key_notice(harness: JobsHarness, smtp: SmtpSink) -> None:
    ident = harness.identity
    holder = Holder.roles_of(["analyst"])
    with harness.app.app_context():
        user = harness.user("lee@example.com")
        issued = ident.api_keys.create(user, "ci", ["profile"], None, holder=holder)
        ident.api_keys.rotate(user, issued.row.id, timedelta(0), holder=holder)
        db.session.commit()
    assert _notices(harness, smtp, "lee@example.com") == ["notice_api_key_created"]
