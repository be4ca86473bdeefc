"""The step-up rule (RFC 9470): a recent sign-in, with the second factor a person has; no
step-up for credentials that stand for no person's sign-in."""

from __future__ import annotations

import pytest

from webapp.identity import Principal
from webapp.identity.auth_context import ACR_ONE_FACTOR, ACR_TWO_FACTORS
from webapp.identity.errors import PersonRequired, StepUpRequired
from webapp.identity.step_up import check

NOW = 10_000


def person(auth_time: int | None = NOW - 10, acr: str | None = ACR_ONE_FACTOR, **kw) -> Principal:
    fields = {"auth_method": "password", "credential": "access_token"} | kw
    return Principal("u1", ("admin",), frozenset(), acr=acr, auth_time=auth_time, **fields)


@pytest.mark.parametrize(
    ("principal", "has_second_factor"),
    [
        (person(), False),
        (person(acr=ACR_TWO_FACTORS), True),
        (person(auth_time=NOW - 600), False),  # exactly max_age old still counts
    ],
)
def test_a_recent_enough_sign_in_passes(principal, has_second_factor):
    check(principal, has_second_factor=has_second_factor, max_age=600, now=NOW)


@pytest.mark.parametrize(
    ("principal", "has_second_factor", "acr"),
    [
        (person(auth_time=NOW - 601), False, ACR_ONE_FACTOR),
        (person(), True, ACR_TWO_FACTORS),  # one factor from someone who has two
        (person(auth_time=None), False, ACR_ONE_FACTOR),  # no sign-in time: ask for one
        (person(acr=None), True, ACR_TWO_FACTORS),
        (person(acr="urn:other:acr"), False, ACR_ONE_FACTOR),  # an acr we do not know
    ],
)
def test_a_stale_or_weak_sign_in_is_asked_to_step_up(principal, has_second_factor, acr):
    with pytest.raises(StepUpRequired) as raised:
        check(principal, has_second_factor=has_second_factor, max_age=600, now=NOW)
    assert (raised.value.acr, raised.value.max_age) == (acr, 600)


def test_an_action_may_always_want_two_factors():
    with pytest.raises(StepUpRequired):
        check(person(), has_second_factor=False, max_age=600, now=NOW, acr=ACR_TWO_FACTORS)


@pytest.mark.parametrize(
    "principal",
    [
        person(auth_method="api_key", credential="api_key"),
        person(auth_method="client_credentials"),
        person(auth_method="client_credentials", auth_time=None, acr=None),
    ],
)
def test_services_are_refused_whatever_they_claim(principal):
    with pytest.raises(PersonRequired):
        check(principal, has_second_factor=False, max_age=600, now=NOW)
