"""Error answers become messages that name what happened, the next step, and an exit code."""

from __future__ import annotations

from email.utils import formatdate

import httpx
import pytest

from cli_plugins.errors import AuthRequired, ExitCode
from cli_plugins.http import problem_error


def problem(status: int, headers: dict[str, str] | None = None, **body: object) -> httpx.Response:
    request = httpx.Request("GET", "http://limen.test/api/v1/x")
    return httpx.Response(status, json={"status": status, **body}, headers=headers, request=request)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, ExitCode.AUTH_REQUIRED),
        (403, ExitCode.FORBIDDEN),
        (404, ExitCode.ERROR),
        (423, ExitCode.ERROR),
        (429, ExitCode.ERROR),
        (500, ExitCode.ERROR),
    ],
)
def test_exit_codes_by_status(status, code):
    assert problem_error(problem(status, detail="x")).exit_code == code


def test_forbidden_names_the_required_permission():
    error = problem_error(problem(403, detail="Nope.", required_permission="keys:write"))
    assert "'keys:write'" in error.message
    assert "--scope keys:write" in (error.hint or "")


def test_locked_account_says_when_to_retry():
    error = problem_error(problem(423, {"Retry-After": "3600"}, detail="Locked after failures."))
    assert "locked" in error.message and "3600 s" in (error.hint or "")


@pytest.mark.parametrize(
    ("profile", "command"),
    [("default", "`limen login`"), ("work", "`limen login --profile work`")],
)
def test_unauthorized_points_to_login_for_the_profile_in_use(profile, command):
    error = problem_error(problem(401, detail="The access token has expired.", cause="expired"))
    assert isinstance(error, AuthRequired)
    assert f"Run {command}." in (error.with_login_hint(profile).hint or "")


def test_expired_token_with_a_skewed_clock_mentions_the_clock():
    skewed = formatdate(timeval=0, usegmt=True)  # the server thinks it is 1970
    error = problem_error(problem(401, {"Date": skewed}, detail="expired", cause="expired"))
    assert isinstance(error, AuthRequired)
    hint = error.with_login_hint("default").hint or ""
    assert "clock" in hint and "limen login" in hint


def test_server_error_carries_the_request_id():
    error = problem_error(problem(500, {"X-Request-Id": "abc123"}, detail="boom"))
    assert "abc123" in error.message
