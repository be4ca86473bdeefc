"""When the authorize endpoint asks for a (fresh) sign-in: prompt=login, max_age, acr_values."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.oauth2.rfc6749.errors import InvalidRequestError

from webapp.identity.auth_context import ACR_TWO_FACTORS, AuthContext
from webapp.oauth.prompts import MARK_WINDOW, AuthnRequest, sign_in_again_target

NOW = 10_000
PASSWORD = AuthContext.of_sign_in("password", NOW - 100)
TWO_FACTORS = AuthContext.of_sign_in("password+otp", NOW - 100)


def asked(**params: str) -> AuthnRequest:
    return AuthnRequest.of(params, "https://rp.example/cb")


@pytest.mark.parametrize(
    ("params", "auth", "second_factor", "needed"),
    [
        ({}, PASSWORD, False, False),
        ({"prompt": "login"}, PASSWORD, False, True),
        ({"prompt": "consent"}, PASSWORD, False, False),
        ({"max_age": "100"}, PASSWORD, False, False),
        ({"max_age": "99"}, PASSWORD, False, True),
        ({"max_age": "0"}, PASSWORD, False, True),
        ({"acr_values": ACR_TWO_FACTORS}, PASSWORD, True, True),
        ({"acr_values": ACR_TWO_FACTORS}, PASSWORD, False, False),  # cannot give it: voluntary
        ({"acr_values": ACR_TWO_FACTORS}, TWO_FACTORS, True, False),
        ({}, None, False, False),
        ({"prompt": "login"}, None, False, True),
        ({"max_age": "3600"}, None, False, True),
    ],
)
def test_what_asks_for_a_sign_in(params, auth, second_factor, needed):
    assert asked(**params).needs_sign_in(auth, NOW, has_second_factor=second_factor) is needed


def test_a_sign_in_after_the_mark_answers_prompt_login_and_max_age():
    fresh = AuthContext.of_sign_in("password", NOW - 5)
    mark = str(NOW - 10)
    request = asked(prompt="login", max_age="0", limen_signed_in_after=mark)
    assert not request.needs_sign_in(fresh, NOW, has_second_factor=False)


@pytest.mark.parametrize(
    "mark",
    [
        str(NOW - 1),  # the session began before the mark: not the fresh sign-in
        str(NOW - MARK_WINDOW - 200),  # a stale mark counts for nothing
        "abc",
        "-5",
    ],
)
def test_a_mark_the_session_does_not_answer_asks_again(mark):
    auth = AuthContext.of_sign_in("password", NOW - 100 if mark != str(NOW - 1) else NOW - 5)
    request = asked(prompt="login", limen_signed_in_after=mark)
    assert request.needs_sign_in(auth, NOW, has_second_factor=False)


def test_the_mark_never_waives_the_second_factor():
    fresh = AuthContext.of_sign_in("password", NOW - 5)
    request = asked(acr_values=ACR_TWO_FACTORS, limen_signed_in_after=str(NOW - 10))
    assert request.needs_sign_in(fresh, NOW, has_second_factor=True)


@pytest.mark.parametrize("max_age", ["-1", "1.5", "abc", "١٢", "9" * 20])
def test_a_malformed_max_age_is_an_invalid_request(max_age):
    with pytest.raises(InvalidRequestError) as caught:
        asked(max_age=max_age)
    assert caught.value.redirect_uri == "https://rp.example/cb"


def test_the_target_drops_prompt_login_and_carries_one_mark():
    target = sign_in_again_target(
        "/oauth/authorize?client_id=c&prompt=login+consent&state=s&limen_signed_in_after=1",
        NOW,
    )
    parts = urlsplit(target)
    query = parse_qs(parts.query)
    assert parts.path == "/oauth/authorize"
    assert query == {
        "client_id": ["c"],
        "prompt": ["consent"],
        "state": ["s"],
        "limen_signed_in_after": [str(NOW)],
    }
    only_login = sign_in_again_target("/oauth/authorize?prompt=login", NOW)
    assert "prompt" not in parse_qs(urlsplit(only_login).query)
