"""Reading a step-up challenge (RFC 9470 §3) off a 401, including hostile headers."""

from __future__ import annotations

import httpx
import pytest

from cli_plugins.errors import ExitCode
from cli_plugins.http import problem_error
from cli_plugins.stepup import Challenge, StepUpRequired, challenge_of


def answer(status: int, header: str | None) -> httpx.Response:
    headers = {"WWW-Authenticate": header} if header is not None else {}
    request = httpx.Request("POST", "http://limen.test/api/v1/jobs/rotate-keys")
    return httpx.Response(status, json={"detail": "x"}, headers=headers, request=request)


def test_the_challenge_names_age_and_strength():
    header = (
        'Bearer realm="limen", error="insufficient_user_authentication", '
        'error_description="too old", acr_values="urn:limen:acr:2fa", max_age="600"'
    )
    assert challenge_of(answer(401, header)) == Challenge(600, "urn:limen:acr:2fa", "too old")


def test_unquoted_parameters_as_in_the_rfc_examples():
    header = "Bearer error=insufficient_user_authentication, max_age=5"
    assert challenge_of(answer(401, header)) == Challenge(5, "", "")


@pytest.mark.parametrize(
    ("status", "header"),
    [
        (401, None),
        (401, 'Bearer error="invalid_token"'),
        (401, 'Basic error="insufficient_user_authentication"'),
        (403, 'Bearer error="insufficient_user_authentication"'),
        (401, ""),
        (401, "Bearer"),
    ],
)
def test_anything_else_is_not_a_step_up(status, header):
    assert challenge_of(answer(status, header)) is None


@pytest.mark.parametrize("max_age", ['"-1"', '"ten"', '"99999999999999999999"', '"1e3"', '""'])
def test_a_malformed_max_age_is_ignored_not_trusted(max_age):
    header = f'Bearer error="insufficient_user_authentication", max_age={max_age}'
    challenge = challenge_of(answer(401, header))
    assert challenge is not None and challenge.max_age is None


def test_it_becomes_an_exit_3_error_naming_the_command():
    header = 'Bearer error="insufficient_user_authentication", acr_values="urn:limen:acr:2fa"'
    error = problem_error(answer(401, header))
    assert isinstance(error, StepUpRequired) and error.exit_code == ExitCode.AUTH_REQUIRED
    assert "`limen login --max-age 0 --acr-values urn:limen:acr:2fa`" in (error.hint or "")
    assert error.to_dict()["type"] == "step_up_required"
