"""The mail section of the settings: LIMEN_SMTP_URL's forms, masking, sender, delivery mode."""

from __future__ import annotations

import pytest

from webapp.settings import Settings, effective_settings, unknown_variables
from webapp.settings.mail import MailSettings, parse_smtp_url


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "user", "password"),
    [
        ("smtp://mail.example.com", "mail.example.com", 587, "starttls", None, None),
        ("smtp://mail.example.com:2525", "mail.example.com", 2525, "starttls", None, None),
        ("smtps://mail.example.com", "mail.example.com", 465, "tls", None, None),
        (
            "smtps://u%40x:p%3Aw%20d@m.example.com:4650",
            "m.example.com",
            4650,
            "tls",
            "u@x",
            "p:w d",
        ),
        ("smtp://127.0.0.1:1025?tls=none", "127.0.0.1", 1025, "none", None, None),
        ("smtp://localhost:1025?tls=none", "localhost", 1025, "none", None, None),
    ],
)
def test_smtp_url_forms(url, host, port, security, user, password):
    target = parse_smtp_url(url)
    assert (target.host, target.port, target.security) == (host, port, security)
    assert (target.username, target.password) == (user, password)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://mail.example.com", "must look like smtp://"),
        ("smtp://", "must look like smtp://"),
        ("smtp://mail.example.com:99999", "invalid port"),
        ("smtp://mail.example.com?tls=none", "only allowed with smtp:// to a loopback host"),
        ("smtps://127.0.0.1?tls=none", "only allowed with smtp:// to a loopback host"),
        ("smtp://127.0.0.1?tls=maybe", "the only option is ?tls=none"),
    ],
)
def test_bad_smtp_urls_are_refused_with_a_reason(url, words):
    with pytest.raises(ValueError, match=words.replace("?", r"\?")):
        parse_smtp_url(url)


def test_a_bad_smtp_url_from_the_environment_never_shows_its_password(monkeypatch):
    monkeypatch.setenv("LIMEN_SMTP_URL", "smtp://bob:hunter2-secret@mail.example.com?tls=none")
    with pytest.raises(ValueError) as caught:
        Settings()
    assert "hunter2" not in str(caught.value) and "LIMEN_SMTP_URL" in str(caught.value)


def test_the_password_is_masked_wherever_settings_are_shown(monkeypatch):
    monkeypatch.setenv("LIMEN_SMTP_URL", "smtps://bob:hunter2-secret@mail.example.com")
    settings = Settings()
    shown = dict(effective_settings(settings))
    assert shown["LIMEN_SMTP_URL"] == "smtps://bob:********@mail.example.com"
    assert "hunter2" not in repr(settings.mail.target())
    assert "hunter2" not in str(effective_settings(settings))


def test_mail_variables_are_known_and_typos_are_named():
    environ = {"LIMEN_SMTP_URL": "x", "LIMEN_MAIL_FROM": "x", "LIMEN_SMTP_URI": "x"}
    assert unknown_variables(environ) == [
        "LIMEN_SMTP_URI is not a Limen setting: did you mean LIMEN_SMTP_URL?"
    ]


def test_the_sender_defaults_to_no_reply_at_the_issuer_host():
    mail = MailSettings(smtp_url=None, mail_from="")
    assert mail.sender("https://id.example.com") == "Limen <no-reply@id.example.com>"
    assert (
        MailSettings(mail_from="IT <it@example.com>").sender("https://x.io")
        == "IT <it@example.com>"
    )


@pytest.mark.parametrize("value", ["no-address", "a@b.c\r\nBcc: evil@example.com"])
def test_a_bad_from_address_is_refused(value):
    with pytest.raises(ValueError, match="LIMEN_MAIL_FROM"):
        MailSettings(mail_from=value)


@pytest.mark.parametrize(
    ("url", "development", "delivery"),
    [
        ("smtp://127.0.0.1:25?tls=none", False, "smtp"),
        ("smtp://127.0.0.1:25?tls=none", True, "smtp"),
        (None, True, "dev-outbox"),
        (None, False, "off"),
    ],
)
def test_how_mail_leaves(url, development, delivery):
    assert MailSettings(smtp_url=url).delivery(development) == delivery
