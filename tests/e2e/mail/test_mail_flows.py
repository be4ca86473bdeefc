"""The mail flows as a client walks them over HTTP, against real nodes, a real worker process
and a real SMTP server: register and verify, forgot password and reset, the same answer for
known and unknown addresses, limits, and links that are spent, expired or tampered with."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.mail.conftest import form_post
from tests.support.factories import PASSWORD, Api, bearer_for, create_user, unique_email
from tests.support.live import REPO_ROOT, LiveServer
from tests.support.smtp import SmtpSink, link_in, text_of

NEW_PASSWORD = "a brand new passphrase"


def _path(link: str, node: LiveServer) -> str:
    assert link.startswith(node.url + "/"), link  # built from LIMEN_ISSUER
    return link[len(node.url) :]


def _forgot(http: httpx.Client, email: str) -> httpx.Response:
    page = http.get("/password/forgot")
    return form_post(http, "/password/forgot", page.text, email=email)


def _reset_link(node: LiveServer, smtp: SmtpSink, email: str) -> str:
    with httpx.Client(base_url=node.url, timeout=30) as http:
        assert _forgot(http, email).status_code == 200
    mails = smtp.wait_for(email)
    return _path(link_in([m for m in mails if m["X-Limen-Mail"] == "password_reset"][-1]), node)


def _login(node: LiveServer, email: str, password: str) -> httpx.Response:
    return httpx.post(f"{node.url}/auth/login", json={"email": email, "password": password})


def test_registration_mails_a_link_that_verifies_the_address_once(
    mail_node: LiveServer, smtp: SmtpSink
) -> None:
    with Api(mail_node.url) as api:
        account = api.register()
    [mail] = smtp.wait_for(account.email)
    assert mail["Subject"] == "Confirm your email address for Limen"
    path = _path(link_in(mail), mail_node)
    with httpx.Client(base_url=mail_node.url, timeout=30) as http:
        page = http.get(path)
        assert page.status_code == 200 and account.email in page.text
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        token = path.split("token=", 1)[1]
        done = form_post(http, "/email/verify", page.text, token=token)
        assert done.status_code == 200 and "Address confirmed" in done.text
        again = form_post(http, "/email/verify", page.text, token=token)
        assert again.status_code == 400 and "already used" in again.text


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: t[:-2],
        lambda t: t[:-1] + ("A" if not t.endswith("A") else "B"),
        lambda t: "limen_ml_" + "A" * 43,
        lambda t: "",
        lambda t: t + "%00",
        lambda t: t + "'\"<script>",
    ],
)
def test_a_tampered_reset_link_gets_a_clear_page_and_changes_nothing(
    mail_node: LiveServer, smtp: SmtpSink, spoil: Callable[[str], str]
) -> None:
    email = create_user(mail_node)
    path = _reset_link(mail_node, smtp, email)
    token = spoil(path.split("token=", 1)[1])
    with httpx.Client(base_url=mail_node.url, timeout=30) as http:
        page = http.get("/password/reset", params={"token": token})
        assert page.status_code == 400
        assert 'role="alert"' in page.text and "not valid" in page.text
        assert "<script>" not in page.text
        login_page = http.get("/password/forgot")
        posted = form_post(
            http,
            "/password/reset",
            login_page.text,
            token=token,
            password=NEW_PASSWORD,
            password_confirm=NEW_PASSWORD,
        )
        assert posted.status_code == 400 and "Nothing was changed" in posted.text
    assert _login(mail_node, email, PASSWORD).status_code == 200
    assert _login(mail_node, email, NEW_PASSWORD).status_code == 401


def test_a_reset_ends_the_sessions_on_every_node_and_works_once(
    mail_node: LiveServer, smtp: SmtpSink, start_server: Callable[..., LiveServer]
) -> None:
    other = start_server(
        mail_node.env["LIMEN_DATABASE_URL"],
        migrate=False,
        LIMEN_ISSUER=mail_node.url,
        LIMEN_SMTP_URL=mail_node.env["LIMEN_SMTP_URL"],
        LIMEN_JOBS_QUEUE=mail_node.env["LIMEN_JOBS_QUEUE"],
    )
    email = create_user(mail_node)
    old = _login(other, email, PASSWORD).json()
    me = f"{other.url}/api/v1/me"
    headers = {"Authorization": f"Bearer {old['access_token']}"}
    assert httpx.get(me, headers=headers).status_code == 200  # cached as verified there
    path = _reset_link(mail_node, smtp, email)
    token = path.split("token=", 1)[1]
    with httpx.Client(base_url=mail_node.url, timeout=30) as http:
        page = http.get(path)
        assert page.status_code == 200
        fields = {"token": token, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
        done = form_post(http, "/password/reset", page.text, **fields)
        assert done.status_code == 200 and "Password changed" in done.text
        assert httpx.get(me, headers=headers).status_code == 401  # at once, on the other node
        refreshed = httpx.post(
            f"{other.url}/auth/refresh", json={"refresh_token": old["refresh_token"]}
        )
        assert refreshed.status_code == 401
        again = form_post(http, "/password/reset", page.text, **fields)
        assert again.status_code == 400 and "already used" in again.text
    assert _login(mail_node, email, PASSWORD).status_code == 401
    assert _login(mail_node, email, NEW_PASSWORD).status_code == 200
    notices = [m for m in smtp.wait_for(email, 2) if m["X-Limen-Mail"] != "password_reset"]
    assert [m["Subject"] for m in notices][:1] == ["Your Limen password was changed"]


def test_the_forgot_password_form_answers_the_same_for_unknown_addresses(
    mail_node: LiveServer, smtp: SmtpSink
) -> None:
    known = create_user(mail_node)
    unknown = unique_email("nobody")
    bodies, times = {}, {known: [], unknown: []}
    with httpx.Client(base_url=mail_node.url, timeout=30) as http:
        for _ in range(3):  # the per-address limit is 3 an hour
            for email in (known, unknown):
                page = http.get("/password/forgot")
                started = time.perf_counter()
                answer = form_post(http, "/password/forgot", page.text, email=email)
                times[email].append(time.perf_counter() - started)
                assert answer.status_code == 200
                bodies[email] = answer.text.replace(email, "ADDRESS")
    strip = lambda text: text.split('name="csrf_token"')[0]  # noqa: E731 (the token differs)
    assert strip(bodies[known]) == strip(bodies[unknown])
    fast, slow = sorted((statistics.median(times[known]), statistics.median(times[unknown])))
    assert slow - fast < max(0.05, fast), times  # the same work (one enqueue) either way
    smtp.wait_for(known, 3)
    time.sleep(1)
    assert smtp.received(unknown) == []


def test_the_forgot_password_form_is_limited_per_address(
    mail_node: LiveServer, smtp: SmtpSink
) -> None:
    email = unique_email("limited")
    with httpx.Client(base_url=mail_node.url, timeout=30) as http:
        codes = [_forgot(http, email).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert _forgot(http, email.upper()).status_code == 429  # the same address
        assert _forgot(http, unique_email("other")).status_code == 200


def test_the_forgot_password_form_is_limited_per_client_address(
    mail_node_factory: Callable[..., LiveServer], smtp: SmtpSink
) -> None:
    node = mail_node_factory(smtp.url(), LIMEN_RATELIMIT_FORGOT_PASSWORD="2/minute")
    with httpx.Client(base_url=node.url, timeout=30) as http:
        codes = [_forgot(http, unique_email("ip")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_an_admin_sends_a_reset_link_from_the_users_page(
    mail_node: LiveServer, smtp: SmtpSink
) -> None:
    from tests.support.browser import sign_in

    admin = create_user(mail_node, "admin")
    person = create_user(mail_node)
    with Api(mail_node.url) as api:
        users = api.http.get(
            "/api/v1/users", params={"q": person}, headers=bearer_for(mail_node, admin)
        ).json()
    user_id = next(u["id"] for u in users["items"] if u["email"] == person)
    with httpx.Client(base_url=mail_node.url, timeout=30) as http:
        sign_in(http, mail_node.url, admin, PASSWORD)
        page = http.get("/admin/users", params={"q": person})
        assert "Send reset link" in page.text
        sent = form_post(http, f"/admin/users/{user_id}/send-reset", page.text)
        assert sent.status_code == 200 and f"Sent a password reset link to {person}" in sent.text
    [mail] = smtp.wait_for(person)
    assert "An administrator sent you this link" in text_of(mail)


def test_send_test_mail(mail_node: LiveServer, smtp: SmtpSink) -> None:
    to = unique_email("test-mail")
    done = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "send-test-mail", to],
        env=mail_node.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"Sent a test mail to {to}" in done.stdout
    [mail] = smtp.wait_for(to)
    assert mail["Subject"] == "Limen test mail"


@pytest.mark.parametrize("end_others", [True, False])
def test_changing_your_own_password_mails_the_notice_saying_what_happened(
    mail_node: LiveServer, smtp: SmtpSink, end_others: bool
) -> None:
    email = create_user(mail_node)
    headers = bearer_for(mail_node, email)
    body = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "end_other_sessions": end_others,
    }
    changed = httpx.post(f"{mail_node.url}/api/v1/me/password", json=body, headers=headers)
    assert changed.status_code == 200, changed.text
    notice = [m for m in smtp.wait_for(email) if m["X-Limen-Mail"] == "notice_password_changed"]
    assert [m["Subject"] for m in notice] == ["Your Limen password was changed"]
    words = "every other session was signed out" if end_others else "sessions stay signed in"
    assert words in text_of(notice[0])
