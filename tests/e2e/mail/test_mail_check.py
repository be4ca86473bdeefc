"""`limen-server check` and `send-test-mail` about mail: the password masked, a missing mail
server named (a problem when addresses must be verified), and a clear error on failure."""

from __future__ import annotations

from tests.e2e.test_server_cli import limen_server
from tests.support.live import LiveServer
from tests.support.services import free_port
from tests.support.smtp import SmtpSink


def _env(node: LiveServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in node.env.items() if k.startswith("LIMEN_")}
    env.pop("LIMEN_SMTP_URL")
    return {**env, **extra}


def test_check_masks_the_mail_password(mail_node: LiveServer, smtp: SmtpSink) -> None:
    url = smtp.url(userinfo="bob:hunter2-secret")
    result = limen_server("check", env=_env(mail_node, LIMEN_SMTP_URL=url))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"LIMEN_SMTP_URL=smtp://bob:********@127.0.0.1:{smtp.port}?tls=none" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr


def test_check_warns_when_no_mail_can_be_sent(mail_node: LiveServer) -> None:
    result = limen_server("check", env=_env(mail_node))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "! LIMEN_SMTP_URL is unset: Limen sends no mail" in result.stdout
    strict = limen_server("check", env=_env(mail_node, LIMEN_EMAIL_VERIFICATION_REQUIRED="true"))
    assert strict.returncode == 1
    assert "✗ LIMEN_EMAIL_VERIFICATION_REQUIRED=true but LIMEN_SMTP_URL is unset" in strict.stdout


def test_a_malformed_smtp_url_is_explained_without_its_password(mail_node: LiveServer) -> None:
    url = "smtp://bob:hunter2-secret@mail.example.com?tls=none"
    result = limen_server("check", env=_env(mail_node, LIMEN_SMTP_URL=url))
    assert result.returncode == 1
    assert "only allowed with smtp:// to a loopback host" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr


def test_send_test_mail_explains_a_failure(mail_node: LiveServer) -> None:
    url = f"smtp://bob:hunter2-secret@127.0.0.1:{free_port()}?tls=none"
    result = limen_server(
        "send-test-mail", "x@example.com", env=_env(mail_node, LIMEN_SMTP_URL=url)
    )
    assert result.returncode == 1
    assert "Error: the mail was not delivered" in result.stderr
    assert "Connection refused" in result.stderr and "Traceback" not in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    off = limen_server("send-test-mail", "x@example.com", env=_env(mail_node))
    assert off.returncode == 1 and "LIMEN_SMTP_URL is not set" in off.stderr
