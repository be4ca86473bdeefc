"""Step-up (RFC 9470) for the real `limen` executable: `limen api` on a sensitive action with
a sign-in older than LIMEN_STEP_UP_MAX_AGE signs the person in again in the browser (Chromium,
through LIMEN_BROWSER) and retries; with nobody to sign in, it exits 3 and names the command."""

from __future__ import annotations

import json
import subprocess
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.support.browser_command import BrowserCommand
from tests.support.factories import PASSWORD, create_user
from tests.support.live import LiveServer

from .conftest import LIMEN, Cli, finish, sign_in

MAX_AGE = 10  # a `limen` process takes a few seconds to start on a busy machine
ROTATE = ("api", "-X", "POST", "/api/v1/jobs/rotate-keys")
ADMIN_SCOPES = "openid profile email offline_access signing-keys:write"


@pytest.fixture(scope="module")
def stepup_node(make_database, start_server) -> LiveServer:
    return start_server(make_database("postgresql"), LIMEN_STEP_UP_MAX_AGE=str(MAX_AGE))


@pytest.fixture
def admin_cli(stepup_node, tmp_path) -> tuple[Cli, str]:
    return Cli(stepup_node, tmp_path / "limen-config"), create_user(stepup_node, "admin")


def password_login(cli: Cli, email: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LIMEN, "login", "--password", "--user", email, "--secret-stdin", *extra],
        input=PASSWORD + "\n",
        env=cli.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_limen_api_signs_in_again_in_the_browser_then_retries(admin_cli, new_page):
    cli, email = admin_cli
    page = new_page()
    with BrowserCommand() as browser:
        login = cli.start(
            "login", "--browser", "--scope", ADMIN_SCOPES, LIMEN_BROWSER=browser.command
        )
        page.goto(browser.next_url())
        sign_in(page, email, PASSWORD)
        expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
    code, output = finish(login)
    assert code == 0, output
    time.sleep(MAX_AGE + 1.5)  # the sign-in is now too old to rotate keys

    with BrowserCommand() as browser:
        proc = cli.start(*ROTATE, LIMEN_BROWSER=browser.command)
        url = browser.next_url()
        asked = parse_qs(urlsplit(url).query)
        assert asked["prompt"] == ["login"] and asked["max_age"] == ["0"]
        assert "signing-keys:write" in asked["scope"][0]  # the scopes the profile held
        page.goto(url)  # the portal session is live, yet the person is asked to sign in
        expect(page.get_by_role("status")).to_contain_text("sign in again")
        sign_in(page, email, PASSWORD)
        expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
    code, output = finish(proc)
    assert code == 0, output
    assert "fresh sign-in" in output and '"emergency": false' in output


def test_with_nobody_to_sign_in_limen_api_exits_3_and_names_the_command(admin_cli):
    cli, email = admin_cli
    assert password_login(cli, email).returncode == 0
    time.sleep(MAX_AGE + 1.5)

    refused = cli.run(*ROTATE)
    assert refused.returncode == 3, refused.stderr
    assert "needs a fresh sign-in" in refused.stderr
    assert "`limen login --max-age 0 --acr-values urn:limen:acr:1fa`" in refused.stderr
    as_json = cli.run(*ROTATE, "--json")
    error = json.loads(as_json.stderr.strip().splitlines()[-1])["error"]
    assert as_json.returncode == 3 and error["type"] == "step_up_required"

    again = password_login(cli, email, "--max-age", "0")  # what the message said, by hand
    assert again.returncode == 0, again.stderr
    done = cli.run(*ROTATE)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["emergency"] is False


def test_an_api_key_is_refused_not_asked_to_step_up(admin_cli):
    cli, email = admin_cli
    assert password_login(cli, email).returncode == 0
    made = cli.run("keys", "create", "ops", "--scope", "signing-keys:write", "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["key"]
    refused = subprocess.run(
        [LIMEN, *ROTATE],
        env=cli.env(LIMEN_API_KEY=key),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 4, refused.stderr  # forbidden: signing in again cannot help
    assert "API keys and client credentials" in refused.stderr
