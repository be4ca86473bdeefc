"""API-key format: checksum catches typos offline; the parser accepts only the exact shape."""

from __future__ import annotations

import pytest

from webapp.identity.api_keys import format_key, looks_like_api_key, parse_key
from webapp.identity.crypto import random_base62
from webapp.identity.errors import InvalidToken


def fresh() -> str:
    return format_key(random_base62(8), random_base62(32))


def test_round_trip():
    key = fresh()
    assert parse_key(key) == key.split("_")[1]
    assert looks_like_api_key(key)


def test_any_single_character_typo_is_caught_by_the_checksum():
    key = fresh()
    body = len("limen_") + 8 + 1
    for i in range(body, len(key) - 6):
        typo = key[:i] + ("A" if key[i] != "A" else "B") + key[i + 1 :]
        with pytest.raises(InvalidToken):
            parse_key(typo)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "limen_",
        "limen_short_x",
        "limen_rt_abc",
        "LIMEN_AAAAAAAA_" + "B" * 38,
        "limen_AAAAAAAA_" + "B" * 37,
    ],
)
def test_malformed_keys(bad):
    with pytest.raises(InvalidToken):
        parse_key(bad)


def test_refresh_tokens_are_not_api_keys():
    assert not looks_like_api_key("limen_rt_abcdef")
