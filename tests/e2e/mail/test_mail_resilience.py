"""A mail server that is down delays mail (retried, visible on the jobs page) and never breaks
registration or sign-in; with verified addresses required, registration answers the same for
taken and free addresses and sign-in waits for the link."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.e2e.mail.conftest import form_post
from tests.support.factories import PASSWORD, bearer_for, create_user, unique_email
from tests.support.live import LiveServer
from tests.support.services import free_port
from tests.support.smtp import SmtpSink, link_in


def _wait(predicate: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


def test_a_mail_server_that_is_down_never_breaks_registration_or_sign_in(
    mail_node_factory: Callable[..., LiveServer],
) -> None:
    node = mail_node_factory(f"smtp://127.0.0.1:{free_port()}?tls=none")
    email = unique_email("down")
    started = time.perf_counter()
    registered = httpx.post(
        f"{node.url}/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    login = httpx.post(f"{node.url}/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200
    assert time.perf_counter() - started < 5  # nobody waited for the mail server
    admin = bearer_for(node, create_user(node, "admin"))

    def mail_runs() -> list[dict[str, Any]]:
        runs = httpx.get(f"{node.url}/api/v1/jobs", headers=admin).json()["runs"]
        return [r for r in runs if r["job"] == "mail.send" and r["attempts"] >= 1]

    run = _wait(mail_runs, "a mail.send attempt")[0]
    assert run["status"] in ("retrying", "failed")
    assert "ConnectionRefusedError" in (run["error"] or "")
    final = _wait(
        lambda: [r for r in mail_runs() if r["status"] == "failed"], "the last attempt", 60
    )
    assert final[0]["attempts"] == 3  # the first try and two retries


def test_with_verification_required_registration_reveals_nothing_and_sign_in_waits(
    mail_node_factory: Callable[..., LiveServer], smtp: SmtpSink
) -> None:
    node = mail_node_factory(smtp.url(), LIMEN_EMAIL_VERIFICATION_REQUIRED="true")
    email = unique_email("strict")
    register = f"{node.url}/auth/register"
    first = httpx.post(register, json={"email": email, "password": PASSWORD})
    second = httpx.post(register, json={"email": email, "password": "another long password"})
    assert first.status_code == second.status_code == 202
    assert (
        first.json()
        == second.json()
        == {
            "status": "verification-sent",
            "email": email,
            "detail": "Open the link we mailed to this address to finish; then sign in.",
        }
    )
    mails = smtp.wait_for(email, 2)
    assert sorted(m["X-Limen-Mail"] for m in mails) == ["registration_attempt", "verify_email"]
    refused = httpx.post(f"{node.url}/auth/login", json={"email": email, "password": PASSWORD})
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["type"].endswith("email-not-verified")
    wrong = httpx.post(f"{node.url}/auth/login", json={"email": email, "password": "nope" * 4})
    assert wrong.status_code == 401  # a wrong password learns nothing about verification
    link = link_in(next(m for m in mails if m["X-Limen-Mail"] == "verify_email"))
    with httpx.Client(base_url=node.url, timeout=30) as http:
        page = http.get(link[len(node.url) :])
        token = link.split("token=", 1)[1]
        assert form_post(http, "/email/verify", page.text, token=token).status_code == 200
    login = httpx.post(f"{node.url}/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200


def test_the_sign_in_page_offers_a_new_link_when_the_address_is_not_verified(
    mail_node_factory: Callable[..., LiveServer], smtp: SmtpSink
) -> None:
    node = mail_node_factory(smtp.url(), LIMEN_EMAIL_VERIFICATION_REQUIRED="true")
    email = unique_email("resend")
    httpx.post(f"{node.url}/auth/register", json={"email": email, "password": PASSWORD})
    smtp.wait_for(email)
    with httpx.Client(base_url=node.url, timeout=30) as http:
        page = http.get("/login")
        refused = form_post(http, "/login", page.text, email=email, password=PASSWORD, next="/")
        assert refused.status_code == 403 and "Confirm your email address first" in refused.text
        again = form_post(http, "/email/resend", refused.text, email=email)
        assert again.status_code == 200 and "on its way" in again.text
    mails = smtp.wait_for(email, 2)
    first, second = (link_in(m) for m in mails)
    with httpx.Client(base_url=node.url, timeout=30) as http:
        old = http.get(first[len(node.url) :])
        assert old.status_code == 400 and "replaced by a newer one" in old.text
        assert http.get(second[len(node.url) :]).status_code == 200
