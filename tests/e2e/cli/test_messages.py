"""What the CLI prints when something goes wrong: the right next step (with the profile in
use), once, as JSON under --json, and people's messages on stderr so stdout stays data."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time

import httpx

from tests.support.browser import approve_device, sign_in

from .conftest import LIMEN, revoke_session
from .test_login_flows import USER_CODE

USER_CODE_RE = re.compile(USER_CODE, re.MULTILINE)


def test_hints_name_the_profile_in_use(limen, account, cli_server):
    limen.login(account, "--profile", "work")
    revoke_session(cli_server, limen.stored("work")["refresh_token"])
    ended = limen.run("whoami", "--profile", "work")
    assert ended.returncode == 3 and "Run `limen login --profile work`." in ended.stderr
    never = limen.run("token", "--profile", "other")
    assert never.returncode == 3 and "Run `limen login --profile other`." in never.stderr


def test_forbidden_hint_is_a_whole_command(limen, account):
    limen.login(account)
    result = limen.run("api", "GET", "/api/v1/users")
    assert result.returncode == 4
    assert "`limen keys create NAME --scope users:read`" in result.stderr


def test_a_prompt_without_a_terminal_names_an_option_that_exists(limen):
    result = limen.run("login", "--password")
    assert result.returncode == 2
    assert "--user EMAIL" in result.stderr and "environment" not in result.stderr


def test_a_wrong_password_is_explained_once(limen, account):
    wrong = "not the password\n"
    result = limen.run(
        "login", "--password", "--user", account.email, "--secret-stdin", input=wrong
    )
    assert result.returncode == 3
    assert result.stderr.lower().count("try again") == 1, result.stderr


def test_login_over_an_environment_token_is_a_usage_error(limen):
    result = limen.run("login", env=limen.env(LIMEN_TOKEN="eyJsomething"))
    assert result.returncode == 2 and "Unset LIMEN_TOKEN" in result.stderr


def test_a_rotated_keys_name_means_its_live_successor(limen, account):
    limen.login(account)
    assert limen.run("keys", "create", "ci", "--scope", "profile").returncode == 0
    rotated = limen.run("keys", "rotate", "ci", "--grace-seconds", "3600")
    assert rotated.returncode == 0, rotated.stderr
    revoked = limen.run("keys", "revoke", "ci")
    assert revoked.returncode == 0, revoked.stderr
    keys = json.loads(limen.run("keys", "list", "--all", "--json").stdout)["items"]
    successor = rotated.stdout.strip().split("_")[1]
    assert {k["prefix"] == successor: k["status"] for k in keys} == {
        True: "revoked",
        False: "grace",
    }


def test_errors_under_json_are_json(limen):
    missing = limen.run("whoami", "--json")
    error = json.loads(missing.stderr)["error"]
    assert missing.returncode == error["exit_code"] == 3 and error["type"] == "auth_required"
    assert "limen login" in error["hint"]
    usage = limen.run("token", "--json", "--no-such-flag")
    assert usage.returncode == 2 and json.loads(usage.stderr)["error"]["type"] == "usage"


def test_the_device_screen_goes_to_stderr_and_stdout_stays_empty(limen, account, cli_server):
    proc = subprocess.Popen(
        [LIMEN, "login", "--device"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=limen.env(),
        text=True,
    )
    # stderr is read by a thread: select() on a buffered pipe misses lines that an earlier
    # readline() already pulled into Python's buffer
    lines: list[str] = []

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while not (found := USER_CODE_RE.search("".join(lines))):
            assert time.monotonic() < deadline, f"no code on stderr within 30 s: {lines!r}"
            time.sleep(0.2)
        with httpx.Client(timeout=30) as http:
            sign_in(http, cli_server.url, account.email, account.password)
            assert approve_device(http, cli_server.url, found.group(1)).status_code == 200
        out = proc.stdout.read()
        proc.wait(timeout=60)
        reader.join(timeout=10)
        err = "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0, err
    assert out == "" and "Logged in to" in err
