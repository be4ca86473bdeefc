"""LIMEN_BROWSER: the command `limen login --browser` hands the sign-in URL to."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from cli_plugins.errors import UsageError
from cli_plugins.providers.auto import can_open_browser
from cli_plugins.providers.launch import browser_argv, open_sign_in_url

URL = "http://limen.test/oauth/authorize?client_id=limen-cli&state=a b"


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("firefox", ["firefox", URL]),
        ("open-it --new-window %s --quiet", ["open-it", "--new-window", URL, "--quiet"]),
        ("'/opt/my browser/run' --url=%s", ["/opt/my browser/run", f"--url={URL}"]),
    ],
    ids=["appended", "placeholder", "quoted"],
)
def test_the_url_is_one_argument(command, argv):
    assert browser_argv(command, URL) == argv


def test_a_broken_command_line_is_a_usage_error():
    with pytest.raises(UsageError, match="LIMEN_BROWSER is not a valid command line"):
        browser_argv("firefox 'unclosed", URL)


def test_a_browser_command_counts_as_a_browser_without_terminal_or_display():
    assert can_open_browser({"LIMEN_BROWSER": "firefox"}, interactive=False)
    assert not can_open_browser({}, interactive=False)


def test_the_command_receives_the_url(tmp_path: Path):
    out = tmp_path / "url.txt"
    script = f"import sys, pathlib; pathlib.Path({str(out)!r}).write_text(sys.argv[1])"
    env = {"LIMEN_BROWSER": f"{sys.executable} -c {script!r} %s"}
    assert open_sign_in_url(URL, env, interactive=False, warn=pytest.fail)
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.read_text() == URL


def test_a_missing_command_warns_and_reports_not_opened():
    warnings: list[str] = []
    env = {"LIMEN_BROWSER": "/nonexistent/browser %s"}
    assert not open_sign_in_url(URL, env, interactive=True, warn=warnings.append)
    assert "/nonexistent/browser" in warnings[0]
