"""Every built-in way to log in, end to end: the real `limen` against a live server."""

from __future__ import annotations

import httpx

from tests.support.browser import approve_device, follow_authorize, sign_in
from tests.support.services import free_port

from .conftest import create_api_key, create_client

USER_CODE = r"^\s+(?:\x1b\[[0-9;]*m)*([A-Z0-9]{4}-[A-Z0-9]{4})"


def test_browser_login(limen, account, cli_server):
    running = limen.start("login", "--browser", "--no-browser")
    url = running.wait_for(r"^\s+(http\S+/oauth/authorize\?\S+)").group(1)
    with httpx.Client(timeout=30) as http:
        sign_in(http, cli_server.url, account.email, account.password)
        location = follow_authorize(http, url)
        page = httpx.get(location, timeout=30)
    assert running.finish() == 0, running.output
    assert page.status_code == 200 and account.email in page.text
    assert "state=" in location and "iss=" in location
    assert limen.run("whoami").stdout.splitlines()[0] == account.email


def test_browser_login_refuses_another_account(limen, account, register, cli_server):
    running = limen.start("login", "--browser", "--no-browser", "--user", "someone@example.com")
    url = running.wait_for(r"^\s+(http\S+/oauth/authorize\?\S+)").group(1)
    assert "login_hint=someone%40example.com" in url
    with httpx.Client(timeout=30) as http:
        sign_in(http, cli_server.url, account.email, account.password)
        page = httpx.get(follow_authorize(http, url), timeout=30)
    assert running.finish() == 1
    assert page.status_code == 400 and "Sign-in failed" in page.text
    assert "nothing was saved" in running.output
    assert limen.run("status").returncode == 3


def test_fixed_port_prints_the_ssh_forwarding_hint(limen):
    port = free_port()
    running = limen.start("login", "--browser", "--no-browser", "--port", str(port))
    running.wait_for(rf"ssh -L {port}:127\.0\.0\.1:{port} ")
    assert f"redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback" in running.output
    running.proc.terminate()
    running.finish()


def test_locked_account_says_when_to_retry(limen, account):
    wrong = "not the password\n"
    for _ in range(5):
        failed = limen.run(
            "login", "--password", "--user", account.email, "--secret-stdin", input=wrong
        )
        assert failed.returncode == 3 and "Sign-in failed" in failed.stderr
    locked = limen.run(
        "login", "--password", "--user", account.email, "--secret-stdin", input=wrong
    )
    assert locked.returncode == 1
    assert "locked" in locked.stderr and "Try again in" in locked.stderr


def test_device_login(limen, account, cli_server):
    running = limen.start("login", "--device")
    code = running.wait_for(USER_CODE).group(1)
    assert f"{cli_server.url}/device" in running.output
    with httpx.Client(timeout=30) as http:
        sign_in(http, cli_server.url, account.email, account.password)
        assert approve_device(http, cli_server.url, code).status_code == 200
    assert running.finish() == 0, running.output
    assert "via device" in running.output
    assert limen.run("whoami").stdout.splitlines()[0] == account.email


def test_client_credentials_from_the_environment(limen, cli_server):
    client = create_client(cli_server)
    env = limen.env(
        LIMEN_CLIENT_ID=client["client_id"], LIMEN_CLIENT_SECRET=client["client_secret"]
    )
    result = limen.run("login", "--client-credentials", env=env)
    assert result.returncode == 0, result.stderr
    assert "LIMEN_CLIENT_SECRET from the environment" in result.stderr
    assert client["client_secret"] not in limen.credentials_file.read_text()
    assert limen.run("whoami").stdout.splitlines()[0] == client["client_id"]


def test_wrong_client_secret_is_exit_3_and_named(limen, cli_server):
    client = create_client(cli_server)
    env = limen.env(LIMEN_CLIENT_ID=client["client_id"], LIMEN_CLIENT_SECRET="wrong")
    result = limen.run("login", "--client-credentials", env=env)
    assert result.returncode == 3 and "LIMEN_CLIENT_SECRET" in result.stderr


def test_api_key_from_the_environment_is_never_stored(limen, account, cli_server):
    key = create_api_key(cli_server, account, "profile")
    env = limen.env(LIMEN_API_KEY=key)
    assert limen.run("whoami", env=env).stdout.splitlines()[0] == account.email
    result = limen.run("login", "--api-key", env=env)
    assert result.returncode == 0 and "LIMEN_API_KEY" in result.stderr
    assert not limen.credentials_file.exists()


def test_api_key_login_stores_the_key_and_scopes_apply(limen, account, cli_server):
    key = create_api_key(cli_server, account, "profile")
    result = limen.run("login", "--api-key", "--secret-stdin", input=key + "\n")
    assert result.returncode == 0, result.stderr
    assert limen.run("whoami").stdout.splitlines()[0] == account.email
    forbidden = limen.run("keys", "list")
    assert forbidden.returncode == 4 and "'keys:read'" in forbidden.stderr


def test_password_login_then_again_is_a_no_op(limen, account):
    limen.login(account)
    again = limen.login(account)
    assert "Already logged in" in again.stderr
    forced = limen.login(account, "--force")
    assert "Logged in to" in forced.stderr


def test_password_login_with_a_one_time_code(limen, account, cli_server):
    from tests.support.mfa import enroll, next_code

    totp, _ = enroll(cli_server, account)
    secret = account.password + "\n"
    missing = limen.run(
        "login", "--password", "--user", account.email, "--secret-stdin", input=secret
    )
    # No terminal to ask for the code and none given: a usage error naming what to pass.
    assert (missing.returncode, missing.stdout) == (2, ""), missing.stderr
    assert "needs a terminal to ask for the one-time code" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert "-o otp=CODE" in missing.stderr, missing.stderr
    done = limen.run(
        "login",
        "--password",
        "--user",
        account.email,
        "--secret-stdin",
        "-o",
        f"otp={next_code(totp)}",
        input=secret,
    )
    assert done.returncode == 0, done.stderr
    whoami = limen.run("whoami", "--json")
    assert account.email in whoami.stdout
