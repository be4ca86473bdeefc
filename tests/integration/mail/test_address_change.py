"""An address change: a link to the new address (the current password asked first); the
address changes, verified, only when the link is used, and the old address is told."""

from __future__ import annotations

import pytest

from tests.integration.jobs.conftest import JobsHarness
from tests.support.smtp import SmtpSink, link_in, text_of
from webapp.extensions import db
from webapp.identity import RequestMeta
from webapp.identity.errors import InvalidCredentials, LinkInvalid, PolicyViolation
from webapp.models import User

PASSWORD = "correct horse battery staple"
META = RequestMeta(ip="192.0.2.8", user_agent="Firefox/130 (Linux)")


def _ask(harness: JobsHarness, user_id: str, new: str, password: str = PASSWORD) -> str:
    with harness.app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        result = harness.identity.account_mail.request_address_change(user, new, password, META)
        db.session.commit()  # the test is the boundary of this unit of work
        return result


def _user(harness: JobsHarness, user_id: str) -> User:
    with harness.app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        db.session.expunge(user)
        return user


def test_the_address_changes_when_the_link_to_the_new_one_is_used(
    harness: JobsHarness, smtp: SmtpSink
) -> None:
    with harness.app.app_context():
        user_id = harness.user("old@example.com").id
    assert _ask(harness, user_id, "New@Example.com") == "new@example.com"
    harness.run_jobs()
    assert _user(harness, user_id).email == "old@example.com"  # not before the link is used
    token = link_in(smtp.wait_for("new@example.com")[-1]).split("token=", 1)[1]
    with harness.app.app_context():
        harness.identity.account_mail.change_address(token, META)
        db.session.commit()  # the test is the boundary of this unit of work
        with pytest.raises(LinkInvalid, match="already used"):
            harness.identity.account_mail.change_address(token, META)
        signed_in = harness.identity.password_login("new@example.com", PASSWORD, META)
        assert signed_in.access_token
    user = _user(harness, user_id)
    assert user.email == "new@example.com" and user.email_verified_at is not None
    harness.run_jobs()
    [notice] = smtp.wait_for("old@example.com")
    assert notice["Subject"] == "Your Limen email address was changed"
    assert "new@example.com" in text_of(notice)


def test_a_wrong_password_changes_nothing_and_sends_nothing(
    harness: JobsHarness, smtp: SmtpSink
) -> None:
    with harness.app.app_context():
        user_id = harness.user("pat@example.com").id
    with pytest.raises(InvalidCredentials):
        _ask(harness, user_id, "pat2@example.com", "not the password")
    with pytest.raises(PolicyViolation, match="already your address"):
        _ask(harness, user_id, "PAT@example.com")
    assert harness.run_jobs() == 0 and smtp.received() == []


def test_an_address_of_another_account_tells_its_owner_and_changes_nothing(
    harness: JobsHarness, smtp: SmtpSink
) -> None:
    with harness.app.app_context():
        user_id = harness.user("quin@example.com").id
        harness.user("taken@example.com")
    assert _ask(harness, user_id, "taken@example.com") == "taken@example.com"
    harness.run_jobs()
    [mail] = smtp.wait_for("taken@example.com")
    assert mail["X-Limen-Mail"] == "registration_attempt" and "limen_ml_" not in text_of(mail)
    assert _user(harness, user_id).email == "quin@example.com"


def test_a_change_link_for_an_address_taken_meanwhile_changes_nothing(
    harness: JobsHarness, smtp: SmtpSink
) -> None:
    with harness.app.app_context():
        user_id = harness.user("ray@example.com").id
    _ask(harness, user_id, "race@example.com")
    harness.run_jobs()
    token = link_in(smtp.wait_for("race@example.com")[-1]).split("token=", 1)[1]
    with harness.app.app_context():
        harness.user("race@example.com")
        with pytest.raises(LinkInvalid, match="another account"):
            harness.identity.account_mail.change_address(token, META)
    assert _user(harness, user_id).email == "ray@example.com"
