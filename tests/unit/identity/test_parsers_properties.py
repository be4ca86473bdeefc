"""Property tests (hypothesis) for the parsers that face attackers: API keys and user codes.
Whatever the input, they answer with a value or a typed error — never crash. Access tokens
are fuzzed against a real key ring in tests/integration/identity/test_token_fuzz.py."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from webapp.identity.api_keys import format_key, parse_key
from webapp.identity.crypto import BASE62
from webapp.identity.errors import InvalidToken
from webapp.identity.oauth_codes import USER_CODE_ALPHABET, normalize_user_code

base62 = st.text(alphabet=BASE62, min_size=1)


@given(
    prefix=st.text(alphabet=BASE62, min_size=8, max_size=8),
    secret=st.text(alphabet=BASE62, min_size=32, max_size=32),
)
def test_every_formatted_key_parses_back(prefix, secret):
    assert parse_key(format_key(prefix, secret)) == prefix


@given(st.text(max_size=80))
def test_arbitrary_text_is_a_key_or_a_typed_error(text):
    try:
        parse_key(text)
    except InvalidToken as exc:
        assert exc.cause == "malformed"


@given(
    code=st.text(alphabet=USER_CODE_ALPHABET, min_size=8, max_size=8),
    lower=st.booleans(),
    hyphen=st.booleans(),
    spaces=st.booleans(),
)
def test_user_codes_normalise_however_they_are_typed(code, lower, hyphen, spaces):
    typed = code[:4] + ("-" if hyphen else "") + (" " if spaces else "") + code[4:]
    typed = typed.lower() if lower else typed
    assert normalize_user_code(typed) == f"{code[:4]}-{code[4:]}"


@given(st.text(max_size=40))
def test_user_code_parser_never_crashes(text):
    result = normalize_user_code(text)
    assert result is None or (len(result) == 9 and result[4] == "-")
