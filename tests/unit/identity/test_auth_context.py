"""The authentication context: what each sign-in method records, and what requests it meets."""

from __future__ import annotations

import pytest

from webapp.identity.auth_context import ACR_ONE_FACTOR, ACR_TWO_FACTORS, AuthContext


@pytest.mark.parametrize(
    ("method", "amr", "acr"),
    [
        ("password", ("pwd",), ACR_ONE_FACTOR),
        ("password:mfa-setup-required", ("pwd",), ACR_ONE_FACTOR),
        ("password+otp", ("pwd", "otp", "mfa"), ACR_TWO_FACTORS),
        ("upstream:github", ("fed",), ACR_ONE_FACTOR),
    ],
)
def test_each_sign_in_method_has_its_rfc8176_methods(method, amr, acr):
    auth = AuthContext.of_sign_in(method, 1000)
    assert (auth.auth_time, auth.amr, auth.acr) == (1000, amr, acr)


def test_a_door_that_is_not_a_sign_in_has_no_context():
    with pytest.raises(KeyError):
        AuthContext.of_sign_in("client_credentials", 1000)


def test_the_record_round_trips_with_amr_as_a_list():
    auth = AuthContext.of_sign_in("password+otp", 1000)
    record = auth.to_record()
    assert record == {"auth_time": 1000, "amr": ["pwd", "otp", "mfa"], "acr": ACR_TWO_FACTORS}
    assert AuthContext.from_record(record) == auth


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"uid": "u", "method": "password"},  # written before contexts were kept
        {"auth_time": "1000", "amr": ["pwd"], "acr": ACR_ONE_FACTOR},
        {"auth_time": 1000, "amr": [1], "acr": ACR_ONE_FACTOR},
        {"auth_time": 1000, "amr": {"pwd": 1}, "acr": ACR_ONE_FACTOR},
        {"auth_time": 0, "amr": None, "acr": None},  # a code row without a context
    ],
)
def test_records_without_a_usable_context_give_none(record):
    assert AuthContext.from_record(record) is None


@pytest.mark.parametrize(
    ("acr", "asked", "meets"),
    [
        (ACR_ONE_FACTOR, [], True),
        (ACR_ONE_FACTOR, [ACR_ONE_FACTOR], True),
        (ACR_ONE_FACTOR, [ACR_TWO_FACTORS], False),
        (ACR_ONE_FACTOR, [ACR_TWO_FACTORS, ACR_ONE_FACTOR], True),  # either will do
        (ACR_TWO_FACTORS, [ACR_TWO_FACTORS], True),
        (ACR_TWO_FACTORS, [ACR_ONE_FACTOR], True),
        (ACR_ONE_FACTOR, ["urn:other:loa:4"], True),  # unknown values ask nothing of us
    ],
)
def test_acr_values_are_met_by_an_equal_or_stronger_sign_in(acr, asked, meets):
    assert AuthContext(1000, ("pwd",), acr).meets(asked) is meets


def test_max_age_counts_whole_seconds_since_the_sign_in():
    auth = AuthContext.of_sign_in("password", 1000)
    assert not auth.older_than(60, 1060)
    assert auth.older_than(60, 1061)
    assert not auth.older_than(0, 1000) and auth.older_than(0, 1001)
